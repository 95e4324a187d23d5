// The person's own code: the server's language list, the language picker, the code kept per language, and the
// controls of their own runs (Run, the tty toggle). While a joined run is shown, all of it is set aside: the
// picker and the controls are disabled, the code stays stored, and loading problems are told in the notice only.

import { apiHeaders, describeRefusal, refusalCode } from "./access.js";
import { bestMatch, groupLanguages, matchesSearch, optionLabel } from "./language-list.js";
import { indentFor, loadSupport } from "./languages.js";
import * as store from "./store.js";

const LANGUAGES_URL = "/api/v1/languages";
const LANGUAGES_RETRY_MS = 3000;
const SAVE_DELAY_MS = 300;

/** A refusal's JSON body, or null when it has none. */
async function bodyOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * @param {object} options
 * @param {object} options.elements  picker (the language <select>), search (its search box), fileName, readOnly,
 *   run (button), tty (checkbox)
 * @param {object} options.editor  editor.js
 * @param {object} options.notices  notices.js
 * @param {(text: string, phase: string) => void} options.showStatus  the status line
 * @param {() => void} options.onListed  the language list arrived (a joined run may now name its language)
 */
export function createOwnCode({ elements, editor, notices, showStatus, onListed }) {
  const { picker, search, fileName, readOnly, run, tty } = elements;
  let languages = []; // as the server listed them
  let current = null; // the language of the person's own code
  let aside = false; // a joined run is shown instead
  let saveTimer = 0;
  let languagesTimer = 0;

  async function load() {
    clearTimeout(languagesTimer);
    let list;
    try {
      const response = await fetch(LANGUAGES_URL, { cache: "no-store", headers: apiHeaders() });
      if (!response.ok) {
        const refusal = describeRefusal(refusalCode(response.status, await bodyOf(response)), location.origin);
        if (refusal) {
          notices.show({ text: refusal.text, askToken: refusal.askToken });
          if (!aside) showStatus(refusal.status, "error");
          return;
        }
        throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
      }
      list = await response.json();
      if (!Array.isArray(list)) throw new Error("the server's language list is not a list");
    } catch (err) {
      const reason = err instanceof TypeError ? "no answer" : err.message;
      // A joined run reports an unreachable server itself.
      if (!aside) {
        notices.show({ text: `Cannot reach the padbox server at ${location.host} (${reason}). Retrying…` });
        showStatus("offline", "");
      }
      languagesTimer = setTimeout(load, LANGUAGES_RETRY_MS);
      return;
    }
    languages = list.filter((l) => l && typeof l.id === "string" && l.id);
    picker.replaceChildren(
      ...groupLanguages(languages).map(({ group, languages: members }) => {
        const optgroup = document.createElement("optgroup");
        optgroup.label = group;
        optgroup.append(
          ...members.map((l) => {
            const option = document.createElement("option");
            option.value = l.id;
            option.textContent = optionLabel(l);
            return option;
          }),
        );
        return optgroup;
      }),
    );
    picker.disabled = languages.length === 0 || aside;
    search.disabled = picker.disabled;
    filter();
    if (languages.length === 0) {
      notices.show({ text: "The server offers no languages." });
      return;
    }
    const remembered = store.loadLanguageId();
    const first =
      languages.find((l) => l.id === remembered) ?? languages.find((l) => l.id === "python") ?? languages[0];
    if (!aside) {
      notices.clear();
      showStatus("ready", "");
    }
    select(first.id);
    onListed();
  }

  function select(id) {
    const language = languages.find((l) => l.id === id);
    if (!language) return;
    flushSave();
    current = language;
    store.saveLanguageId(id);
    if (!aside) open(); // else the joined run's code stays until Leave, which opens this language
  }

  /** The person's own code for the current language, editable. */
  function open() {
    const language = current;
    picker.value = language.id;
    fileName.textContent = language.file || "";
    readOnly.hidden = true;
    const stored = store.loadCode(language.id);
    const code = stored !== null && stored.trim() !== "" ? stored : language.template || "";
    editor.open(language.id, code, indentFor(language));
    loadSupport(language).then((support) => {
      if (current === language && editor.shownLanguage() === language.id) editor.setLanguageSupport(support);
    });
  }

  function scheduleSave() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(flushSave, SAVE_DELAY_MS);
  }

  function flushSave() {
    clearTimeout(saveTimer);
    // Only the person's own document: a joined run's code, shown read-only, is never theirs to keep.
    if (current && editor.shownLanguage() === current.id) {
      store.saveCode(current.id, editor.getCode(), current.template || "");
    }
  }

  /** Show only the languages the search box matches (the chosen one stays listed, so the picker shows it). */
  function filter() {
    const query = search.value;
    for (const optgroup of picker.querySelectorAll("optgroup")) {
      let shown = 0;
      for (const option of optgroup.querySelectorAll("option")) {
        const language = languages.find((l) => l.id === option.value);
        option.hidden = !(option.value === picker.value || (language && matchesSearch(language, query)));
        shown += option.hidden ? 0 : 1;
      }
      optgroup.hidden = shown === 0;
    }
  }

  picker.addEventListener("change", () => select(picker.value));
  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const found = bestMatch(languages, search.value);
      if (found && !aside) {
        select(found.id);
        search.value = "";
        filter();
        editor.focus();
      }
    } else if (event.key === "Escape") {
      search.value = "";
      filter();
    }
  });
  addEventListener("pagehide", flushSave);
  tty.checked = store.loadTty();
  tty.addEventListener("change", () => store.saveTty(tty.checked));

  return {
    load,
    scheduleSave,
    flushSave,
    /** The server's languages, as listed. */
    languages: () => languages,
    /** The language of the person's own code, or null until the list has loaded. */
    current: () => current,
    /** The mode the person picked for their runs: a pseudo-terminal, or pipes. */
    tty: () => tty.checked,

    /** Set the person's code aside for a joined run (true), or bring it back as they left it (false). */
    setAside(value) {
      aside = value;
      flushSave();
      picker.disabled = aside || languages.length === 0;
      search.disabled = picker.disabled;
      run.disabled = aside;
      tty.disabled = aside;
      if (aside) return;
      tty.checked = store.loadTty();
      if (current) {
        open();
        showStatus("ready", "");
      } else {
        readOnly.hidden = true;
        fileName.textContent = "";
        editor.showReadOnly("", "    "); // nothing of the person's to show until the languages load
        showStatus("loading…", "");
      }
    },
  };
}
