// The terminal: xterm.js fitted to its pane, with light and dark palettes and a plain-text view of its buffer.

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";

// xterm's default palette assumes a dark background; on a light one its white and yellow would vanish.
const LIGHT = {
  background: "#ffffff",
  foreground: "#1f2328",
  cursor: "#1f2328",
  cursorAccent: "#ffffff",
  selectionBackground: "#b6d6fd",
  black: "#24292f",
  red: "#cf222e",
  green: "#116329",
  yellow: "#8a6100",
  blue: "#0550ae",
  magenta: "#8250df",
  cyan: "#1b7c83",
  white: "#6e7781",
  brightBlack: "#57606a",
  brightRed: "#a40e26",
  brightGreen: "#1a7f37",
  brightYellow: "#633c01",
  brightBlue: "#218bff",
  brightMagenta: "#a475f9",
  brightCyan: "#3192aa",
  brightWhite: "#8c959f",
};

const DARK = {
  background: "#21252b",
  foreground: "#d7dae0",
  cursor: "#d7dae0",
  cursorAccent: "#21252b",
  selectionBackground: "#3e4451",
  black: "#3f4451",
  red: "#e06c75",
  green: "#98c379",
  yellow: "#e5c07b",
  blue: "#61afef",
  magenta: "#c678dd",
  cyan: "#56b6c2",
  white: "#d7dae0",
  brightBlack: "#7f848e",
  brightRed: "#ff7b86",
  brightGreen: "#b1e18b",
  brightYellow: "#f0d197",
  brightBlue: "#7cc5ff",
  brightMagenta: "#de8ef4",
  brightCyan: "#6ad0dc",
  brightWhite: "#ffffff",
};

/**
 * Make the terminal inside `parent`.
 * @param {HTMLElement} parent
 * @param {{dark: boolean, onData: (data: string) => void, onResize: (size: {cols: number, rows: number}) => void}} options
 */
export function createTerminal(parent, { dark, onData, onResize }) {
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: getComputedStyle(document.documentElement).getPropertyValue("--mono").trim() || "monospace",
    fontSize: 14,
    scrollback: 5000,
    theme: dark ? DARK : LIGHT,
  });
  const fitAddon = new FitAddon();
  term.loadAddon(fitAddon);
  term.open(parent);

  const fit = () => {
    // A hidden or collapsed pane has no size to fit to.
    if (parent.clientWidth > 0 && parent.clientHeight > 0) fitAddon.fit();
  };
  fit();
  let pending = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(fit);
  }).observe(parent);

  term.onData(onData);
  term.onResize(onResize);

  return {
    term,
    fit,

    write(text) {
      term.write(text);
    },

    /** Start the next line unless the cursor already is at the start of one. */
    ensureNewLine() {
      if (term.buffer.active.cursorX !== 0) term.write("\r\n");
    },

    /** A clean terminal for the next run: contents, modes and colours from the last program all gone. */
    reset() {
      term.reset();
    },

    /** The cursor shows only while a program can read what is typed. */
    showCursor(visible) {
      term.write(visible ? "\x1b[?25h" : "\x1b[?25l");
    },

    /** Whether typing reaches `onData`: off for someone who only watches a shared run. */
    setInputEnabled(enabled) {
      term.options.disableStdin = !enabled;
    },

    size() {
      return { cols: term.cols, rows: term.rows };
    },

    setDark(value) {
      term.options.theme = value ? DARK : LIGHT;
    },

    focus() {
      term.focus();
    },

    /** The buffer as text, wrapped rows joined, trailing blank lines dropped: what a person reads. */
    text() {
      const buffer = term.buffer.active;
      const lines = [];
      for (let y = 0; y < buffer.length; y += 1) {
        const line = buffer.getLine(y);
        if (!line) continue;
        // Untrimmed, so a space at a wrap point survives; each whole line is trimmed below.
        const text = line.translateToString(false);
        if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
        else lines.push(text);
      }
      for (let i = 0; i < lines.length; i += 1) lines[i] = lines[i].trimEnd();
      while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
      return lines.join("\n");
    },
  };
}
