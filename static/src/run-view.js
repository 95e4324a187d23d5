// The run view, for any run, own or joined: the status line, the verdict and its details, who is on the run,
// the Stop and Share buttons, and the terminal with what is typed into it. It draws the Reports of run-state.js;
// `reset` is the one way the view is cleared for whatever comes next.

import { LineEditor } from "./line-editor.js";
import { Role, ServerType, Stage } from "./protocol.js";
import { driverless, presenceLabel, shareLinks } from "./share.js";
import { VERDICT_HINTS } from "./status.js";

const dim = (text) => `\x1b[2m${text}\x1b[22m\r\n`;
const red = (text) => `\x1b[31m${text}\x1b[39m\r\n`;

/** Program output for xterm: pipes carry bare \n, which a terminal needs as \r\n; stderr gets its own colour. */
function forTerminal(stream, stage, data, tty) {
  let text = data;
  // A compiler's output may come through a pipe even in a tty run; converting a lone \n is harmless either way.
  if (!tty || stage === Stage.COMPILE) text = text.replace(/(?<!\r)\n/g, "\r\n");
  if (stream === ServerType.STDERR) {
    // Re-apply the colour after any reset the program wrote itself.
    text = `\x1b[31m${text.replace(/\x1b\[0?m/g, "$&\x1b[31m")}\x1b[39m`;
  }
  return text;
}

/**
 * @param {object} options
 * @param {object} options.elements  status, verdict, details, presence, stop, share (the buttons)
 * @param {object} options.terminal  terminal.js
 * @param {object} options.notices  notices.js
 * @param {object} options.sharePanel  share-panel.js
 * @param {() => {session: object | null, run: object | null}} options.current  the latest session and its run-state
 */
export function createRunView({ elements, terminal, notices, sharePanel, current }) {
  const { status, verdict, details, presence, stop, share } = elements;
  const lineEditor = new LineEditor({
    echo: (text) => terminal.write(text),
    send: (data) => current().session?.sendStdin(data),
    eof: () => current().session?.sendEof(),
    interrupt: () => current().session?.interrupt(),
  });

  function showStatus(text, phase) {
    status.textContent = text;
    status.dataset.phase = phase;
  }

  function showVerdict(value) {
    verdict.textContent = value || "";
    verdict.dataset.verdict = value || "";
    verdict.title = VERDICT_HINTS[value] || "";
  }

  function showDetails(parts) {
    details.replaceChildren(
      ...parts.map(({ key, text }) => {
        const span = document.createElement("span");
        span.dataset.testid = key;
        span.className = `detail detail-${key}`;
        span.textContent = text;
        return span;
      }),
    );
  }

  /** Who is on the run ({drivers, viewers}, you included), or null to hide it. */
  function showPresence(counts) {
    presence.hidden = counts === null;
    presence.textContent = counts ? presenceLabel(counts) : "";
    presence.dataset.warn = String(Boolean(counts && driverless(counts)));
  }

  /** Clear what the last run left (notice, verdict, presence, typed line, terminal) and write `intro`, dimmed. */
  function reset({ cursor, intro = "" }) {
    notices.clear();
    showVerdict("");
    showDetails([]);
    showPresence(null);
    lineEditor.reset();
    terminal.reset();
    terminal.showCursor(cursor);
    if (intro) terminal.write(dim(intro));
  }

  /** The links to the live run shown, or null when there is none to share. */
  function currentLinks() {
    const { session } = current();
    const live = session ? session.share : null;
    if (!live) return null;
    return shareLinks(location.origin + location.pathname, live.id, live.keys);
  }

  share.addEventListener("click", () => {
    const links = currentLinks();
    if (links) sharePanel.toggle(links);
  });

  return {
    showStatus,
    reset,

    /** Draw a Report of run-state.js. */
    show(report) {
      if (report.reset) reset(report.reset);
      if (report.presence !== undefined) showPresence(report.presence);
      if (report.withdraw) notices.withdraw(report.withdraw);
      if (report.notice) notices.show(report.notice);
      if (report.status) showStatus(report.status.text, report.status.phase);
      if (report.verdict !== undefined) showVerdict(report.verdict);
      if (report.details) showDetails(report.details);
      if (report.line) {
        terminal.ensureNewLine();
        terminal.write(red(report.line));
      }
      if (report.note) terminal.write(dim(report.note));
    },

    /** Output of the run's program, in the run's mode. */
    output(stream, stage, data) {
      terminal.write(forTerminal(stream, stage, data, current().run?.tty ?? true));
    },

    /** What is typed into the terminal: to the program, if it may have it. */
    type(data) {
      const { session, run } = current();
      if (!session || !session.canType) return; // a viewer's typing, or nothing running
      if (run.tty) session.sendStdin(data); // the pseudo-terminal echoes and edits
      else lineEditor.feed(data);
    },

    /** A program may be running: Stop is offered to whoever may stop it. */
    setBusy(busy) {
      const { session } = current();
      stop.disabled = !busy || (session !== null && session.role === Role.VIEWER);
      document.body.dataset.running = busy ? "true" : "false";
    },

    /** The Share button and panel follow whether the run shown can be shared now. */
    refreshShare() {
      const links = currentLinks();
      share.disabled = links === null;
      sharePanel.update(links);
    },
  };
}
