// Pipe mode's input: without a pseudo-terminal nothing echoes or edits what a person types, so the pad does,
// the way a terminal in canonical mode would. Pure: echo and sending go through the callbacks.

/** Index just past the escape sequence that starts at `start` (a key like an arrow sends one). */
function skipEscape(data, start) {
  const next = data[start + 1];
  if (next === "[") {
    let i = start + 2;
    while (i < data.length && !(data.charCodeAt(i) >= 0x40 && data.charCodeAt(i) <= 0x7e)) i += 1;
    return i + 1;
  }
  if (next === "O") return start + 3;
  return start + 2;
}

export class LineEditor {
  /**
   * @param {object} callbacks
   * @param {(text: string) => void} callbacks.echo  write to the terminal
   * @param {(data: string) => void} callbacks.send  send program input
   * @param {() => void} callbacks.eof  close the program's input
   * @param {() => void} callbacks.interrupt  Ctrl+C
   */
  constructor({ echo, send, eof, interrupt }) {
    this.echo = echo;
    this.send = send;
    this.eof = eof;
    this.interrupt = interrupt;
    this.line = "";
  }

  /** Forget a half-typed line (a new run starts). */
  reset() {
    this.line = "";
  }

  /** Handle one chunk of terminal input: keystrokes or a paste. */
  feed(data) {
    let i = 0;
    while (i < data.length) {
      const ch = data[i];
      if (ch === "\x1b") {
        i = skipEscape(data, i);
        continue;
      }
      i += 1;
      if (ch === "\r" || ch === "\n") {
        if (ch === "\r" && data[i] === "\n") i += 1;
        this.echo("\r\n");
        this.send(this.line + "\n");
        this.line = "";
      } else if (ch === "\x7f" || ch === "\b") {
        this.eraseLast();
      } else if (ch === "\x04") {
        // Ctrl+D: what was typed so far still goes to the program, then its input ends.
        if (this.line) this.send(this.line);
        this.line = "";
        this.eof();
      } else if (ch === "\x03") {
        this.echo("^C\r\n");
        this.line = "";
        this.interrupt();
      } else if (ch === "\x15") {
        while (this.line) this.eraseLast();
      } else if (ch >= " " || ch === "\t") {
        this.line += ch;
        this.echo(ch);
      }
    }
  }

  eraseLast() {
    if (!this.line) return;
    const chars = Array.from(this.line);
    chars.pop();
    this.line = chars.join("");
    this.echo("\b \b");
  }
}
