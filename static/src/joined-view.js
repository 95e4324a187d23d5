// The joined-run view: a shared run opened from a link shown in place of the person's own code. The banner says
// where the run stands (run-state.js JoinedRun), the editor shows the run's files read-only with a tab each, and
// the terminal takes typing only from a driver.

import { indentFor, loadSupport } from "./languages.js";
import { Role } from "./protocol.js";

/**
 * @param {object} options
 * @param {object} options.elements  banner, title, detail, rejoin, leave, fileName, readOnly, picker, tty
 * @param {object} options.editor  editor.js
 * @param {object} options.terminal  terminal.js
 */
export function createJoinedView({ elements, editor, terminal }) {
  const { banner, title, detail, rejoin, leave, fileName, readOnly, picker, tty } = elements;
  const ownTitle = document.title;
  let shownFiles = null; // the snapshot's files on show, so a new snapshot redraws them

  /** One of the run's files, read-only; several files get a tab each. */
  function showFile(joined, index) {
    joined.selectFile(index);
    const files = joined.files;
    const file = files[index] ?? { name: "", content: "" };
    const language = joined.languageEntry();
    if (joined.languages().some((l) => l.id === language.id)) picker.value = language.id;
    editor.showReadOnly(file.content, indentFor(language));
    readOnly.hidden = false;
    loadSupport({ ...language, file: file.name }).then((support) => {
      if (shownFiles === files && joined.fileIndex === index && editor.shownLanguage() === null) {
        editor.setLanguageSupport(support);
      }
    });
    if (files.length <= 1) {
      fileName.textContent = file.name;
      return;
    }
    fileName.replaceChildren(
      ...files.map((f, i) => {
        const tab = document.createElement("button");
        tab.type = "button";
        tab.className = "file-tab";
        tab.textContent = f.name;
        tab.setAttribute("aria-pressed", String(i === index));
        tab.addEventListener("click", () => showFile(joined, i));
        return tab;
      }),
    );
  }

  return {
    /** Show `joined` in place of the person's code: nothing to show until its snapshot comes. */
    enter(joined) {
      shownFiles = null;
      document.body.dataset.shared = joined.role;
      fileName.textContent = "";
      readOnly.hidden = true; // until there is code to show
      editor.showReadOnly("", "    ");
      terminal.setInputEnabled(joined.role === Role.DRIVER);
    },

    /** Draw where `joined` stands; a new snapshot's files replace the ones shown. */
    render(joined) {
      if (joined.files !== null && joined.files !== shownFiles) {
        shownFiles = joined.files;
        showFile(joined, joined.fileIndex);
        tty.checked = joined.tty;
      }
      const { title: heading, detail: words, rejoin: mayRejoin, live } = joined.banner();
      banner.hidden = false;
      banner.dataset.state = joined.state;
      banner.dataset.role = joined.role;
      title.textContent = heading;
      detail.textContent = words;
      rejoin.hidden = !mayRejoin;
      leave.textContent = live ? "Leave" : "Back to my code";
      leave.title = live ? "Back to your own code; the run goes on for the others" : "Back to your own code";
      document.title = `${heading} · ${ownTitle}`;
    },

    /** The language list arrived: the run's file again, now with its language's name and highlighting. */
    relabel(joined) {
      shownFiles = null;
      this.render(joined);
    },

    leave() {
      shownFiles = null;
      delete document.body.dataset.shared;
      document.title = ownTitle;
      banner.hidden = true;
      terminal.setInputEnabled(true);
    },
  };
}
