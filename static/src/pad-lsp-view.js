// What language help draws outside the editor: the indicator in the pad bar, and the list of every file's
// diagnostics under the editor (a click opens the file at the line). The words come from lsp-wire.js.

import { describeHelp, diagnosticsList } from "./lsp-wire.js";

/**
 * @param {object} options
 * @param {HTMLElement} options.indicator
 * @param {HTMLElement} options.list  a <ul>, hidden while there is nothing to list
 * @param {(file: string, line: number, character: number) => void} options.pick  a diagnostic was clicked
 */
export function createLanguageHelpView({ indicator, list, pick }) {
  return {
    /** Show `help` ({state, message}) for the pad's language, `languageName`. */
    showState(help, languageName) {
      const words = describeHelp(help, languageName);
      indicator.dataset.state = words.state;
      indicator.textContent = words.text;
      indicator.title = words.title;
      indicator.hidden = false;
    },

    /** List the diagnostics (`byUri`, as published) of the pad's files, `files` in tab order. */
    showDiagnostics(byUri, files) {
      const rows = diagnosticsList(byUri, files);
      list.replaceChildren(
        ...rows.map((row) => {
          const item = document.createElement("li");
          item.dataset.testid = "pad-diagnostic";
          item.dataset.severity = row.severity;
          item.dataset.file = row.file;
          item.dataset.line = String(row.line);
          const button = document.createElement("button");
          button.type = "button";
          const where = document.createElement("span");
          where.className = "where";
          where.textContent = `${row.file}:${row.line}`;
          const message = document.createElement("span");
          message.className = "message";
          message.textContent = row.source ? `${row.message} (${row.source})` : row.message;
          button.append(where, message);
          button.title = `${row.severity}: go to ${row.file} line ${row.line}`;
          button.addEventListener("click", () => pick(row.file, row.line, row.character));
          item.append(button);
          return item;
        }),
      );
      list.hidden = rows.length === 0;
      list.setAttribute("aria-label", `${rows.length} problem${rows.length === 1 ? "" : "s"} in the pad's files`);
    },
  };
}
