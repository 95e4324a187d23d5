// The owner's tools on a pad: the three links (copy, or replace with a new one), private notes saved as they are
// typed, the language-help switch, Export, and End pad. Each panel opens under the pad bar; one at a time.

import { apiHeaders } from "./access.js";
import { describeFailure } from "./pad-api.js";
import { padLink } from "./pad-link.js";
import * as store from "./store.js";

const NOTES_DELAY_MS = 600;
const FLASH_MS = 2000;

/**
 * @param {object} options
 * @param {object} options.elements  linksButton, links, notesButton, notes, notesText, notesState, exportButton,
 *   end, playbackButton, playback; reportButton, report (pad-report.js draws it); helpSwitch (the switch's label),
 *   helpEnabled (its checkbox)
 * @param {object} options.calls  pad-api.js padCalls
 * @param {{id: string, key: string}} options.pad
 * @param {object} options.notices  notices.js
 * @param {(open: boolean) => void} options.onPlayback  the playback panel was opened (true) or closed
 * @param {() => void} [options.onReport]  the report panel was opened
 * @param {() => string} options.name  the person's display name, for the history
 */
export function createPadOwner({ elements, calls, pad, notices, onPlayback, onReport = () => {}, name }) {
  const { linksButton, links, notesButton, notes, notesText, notesState, exportButton, end, playbackButton, playback } =
    elements;
  const { reportButton, report, helpSwitch, helpEnabled } = elements;
  const panels = [
    [linksButton, links],
    [notesButton, notes],
    [playbackButton, playback],
    ...(report ? [[reportButton, report]] : []),
  ];
  let notesTimer = 0;
  let notesLoaded = false;
  let notesSaved = "";

  store.savePadKey(pad.id, "owner", pad.key);

  function toggle(button, panel) {
    const opening = panel.hidden;
    for (const [b, p] of panels) {
      p.hidden = !(opening && p === panel);
      b.setAttribute("aria-expanded", String(!p.hidden));
    }
    onPlayback(!playback.hidden);
    return opening;
  }

  // --- links
  function showLinks() {
    const keys = store.loadPadKeys(pad.id);
    for (const row of links.querySelectorAll("[data-role]")) {
      const key = keys[row.dataset.role];
      row.querySelector("input").value = key ? padLink(location.origin, pad.id, key) : "";
      row.querySelector('[data-action="copy"]').disabled = !key;
    }
  }

  function flash(button, text) {
    button.textContent = text;
    setTimeout(() => {
      button.textContent = "Copy";
    }, FLASH_MS);
  }

  async function copy(row) {
    const input = row.querySelector("input");
    const button = row.querySelector('[data-action="copy"]');
    try {
      await navigator.clipboard.writeText(input.value);
      flash(button, "Copied");
    } catch {
      input.focus();
      input.select();
      flash(button, "Press Ctrl+C");
    }
  }

  async function renew(row) {
    const role = row.dataset.role;
    const warning =
      role === "owner"
        ? "Replace your owner link? This page moves to the new one; the old link stops working at once."
        : `Replace the ${role} link? Whoever holds the old one is shut out at once.`;
    // eslint-disable-next-line no-alert
    if (!confirm(warning)) return;
    const answer = await calls.newLink(role);
    if (!answer.ok) {
      notices.show({ text: describeFailure(answer) });
      return;
    }
    store.savePadKey(pad.id, role, answer.body.key);
    if (role === "owner") {
      location.replace(padLink(location.origin, pad.id, answer.body.key));
      location.reload();
      return;
    }
    showLinks();
  }

  for (const row of links.querySelectorAll("[data-role]")) {
    row.querySelector('[data-action="copy"]').addEventListener("click", () => copy(row));
    row.querySelector('[data-action="renew"]').addEventListener("click", () => renew(row));
  }
  linksButton.addEventListener("click", () => {
    if (toggle(linksButton, links)) showLinks();
  });

  // --- notes
  async function loadNotes() {
    notesState.textContent = "loading…";
    const answer = await calls.notes();
    if (!answer.ok) {
      notesState.textContent = describeFailure(answer);
      return;
    }
    notesText.value = answer.body.notes || "";
    notesSaved = notesText.value;
    notesLoaded = true;
    notesState.textContent = "";
  }

  async function saveNotes() {
    clearTimeout(notesTimer);
    const text = notesText.value;
    if (!notesLoaded || text === notesSaved) return;
    notesState.textContent = "saving…";
    const answer = await calls.saveNotes(text);
    if (answer.ok) {
      notesSaved = text;
      notesState.textContent = notesText.value === text ? "saved" : "";
    } else {
      notesState.textContent = `not saved: ${describeFailure(answer)}`;
    }
  }

  notesText.addEventListener("input", () => {
    clearTimeout(notesTimer);
    notesTimer = setTimeout(saveNotes, NOTES_DELAY_MS);
  });
  notesText.addEventListener("blur", saveNotes);
  addEventListener("pagehide", saveNotes);
  notesButton.addEventListener("click", () => {
    if (toggle(notesButton, notes) && !notesLoaded) loadNotes();
  });

  playbackButton.addEventListener("click", () => toggle(playbackButton, playback));
  reportButton?.addEventListener("click", () => {
    if (toggle(reportButton, report)) onReport();
  });

  // --- language help: the server enforces the switch, records it in the history and tells every page
  let helpLoad = null; // asked once; afterwards the page's own changes and padbox/state keep it right

  async function loadHelpSwitch() {
    const answer = await calls.languageHelp();
    if (answer.ok && typeof answer.body?.enabled === "boolean") helpEnabled.checked = answer.body.enabled;
  }

  helpEnabled.addEventListener("change", async () => {
    const enabled = helpEnabled.checked;
    helpEnabled.disabled = true;
    const answer = await calls.setLanguageHelp(enabled, name());
    helpEnabled.disabled = false;
    if (answer.ok && typeof answer.body?.enabled === "boolean") {
      helpEnabled.checked = answer.body.enabled;
    } else {
      helpEnabled.checked = !enabled;
      notices.show({ text: `Language help was not switched ${enabled ? "on" : "off"}: ${describeFailure(answer)}` });
    }
  });

  // --- export and end
  exportButton.addEventListener("click", async () => {
    try {
      const response = await fetch(calls.exportUrl(), { headers: apiHeaders(), cache: "no-store" });
      if (!response.ok) {
        notices.show({ text: describeFailure({ status: response.status, body: await response.json().catch(() => null) }) });
        return;
      }
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = `pad-${pad.id}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      notices.show({ text: `Export failed: ${err instanceof Error ? err.message : err}` });
    }
  });

  end.addEventListener("click", async () => {
    // eslint-disable-next-line no-alert
    if (!confirm("End the pad? It becomes read-only for everyone and its run stops. You keep playback and export.")) {
      return;
    }
    const answer = await calls.end();
    if (!answer.ok) notices.show({ text: describeFailure(answer) });
    // Every page, this one too, turns read-only on the events socket's pad_ended.
  });

  return {
    /** Show the owner's tools; `ended` hides what an ended pad no longer offers. */
    show({ ended }) {
      linksButton.hidden = ended;
      notesButton.hidden = false;
      playbackButton.hidden = false;
      if (reportButton) reportButton.hidden = false;
      exportButton.hidden = false;
      end.hidden = ended;
      helpSwitch.hidden = ended;
      if (!ended && !helpLoad) helpLoad = loadHelpSwitch();
      if (ended && !links.hidden) toggle(linksButton, links);
    },

    /** The language-help socket announced whether help is off (`padbox/state`): the switch follows. */
    helpState(enabled) {
      if (!helpEnabled.disabled) helpEnabled.checked = enabled;
    },
  };
}
