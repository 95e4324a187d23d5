// The owner pins a note to the moment it is written (the events socket's `note` action): the server stamps it with
// its time, keeps it for playback and the report, and sends it back to the owner's sockets alone (`pad_mark`).
// The same list shows the candidate's pastes and focus changes as they are recorded, so the interviewer sees them
// live.

import { PadAction } from "./pad-events.js";
import { describeMark } from "./playback.js";

/**
 * @param {object} options
 * @param {object} options.elements  form, input, list
 * @param {(action: object) => boolean} options.send  the events socket's send
 * @param {object} options.notices
 */
export function createPinnedNotes({ elements, send, notices }) {
  const { form, input, list } = elements;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (send({ type: PadAction.NOTE, text })) input.value = "";
    else notices.show({ text: "Not connected to the pad: the note was not pinned. Try again in a moment." });
  });

  return {
    /** A mark the server recorded (the owner's events socket), listed with its time. */
    recorded(mark) {
      if (!mark || typeof mark.at !== "number") return;
      const item = document.createElement("li");
      item.dataset.testid = mark.kind === "note" ? "pad-pinned-note" : "pad-live-mark";
      item.dataset.kind = mark.kind;
      const words = mark.kind === "note" ? mark.text : describeMark(mark);
      item.textContent = `${new Date(mark.at * 1000).toLocaleTimeString()} ${words}`;
      list.append(item);
    },
  };
}
