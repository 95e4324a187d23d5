// What an editor's page reports for the interview's timeline: a paste (one local edit inserting more than the pad's
// `paste_chars` characters; the text itself is in the document's history already) and the page losing or regaining
// focus, or becoming hidden or visible. The server stamps each with its own time and keeps it for the owner
// (server/padbox/pads/service.py Pads.mark). The candidate is told once, plainly, that this is recorded.
// The decisions are pure (test/pad-recording.test.js); `startRecording` wires them to the window.

import { PadAction } from "./pad-events.js";

export const RECORDED_NOTICE =
  "This pad records, with their times, when you paste into the editor (how many characters) and when this page " +
  "loses focus or is hidden (another tab or window). The interviewer sees them in the pad's playback and report.";

const TOLD_KEY = (padId) => `padbox.pad.recorded.${padId}`;

/** Whether an insertion of `chars` characters in one edit is reported as a paste. */
export function isPaste(chars, threshold) {
  return threshold > 0 && chars > threshold;
}

/**
 * Focus and visibility as changes worth reporting: a state is sent once when it changes, never twice in a row
 * (a blur followed by a visibilitychange to hidden is two facts; two blurs are one).
 */
export class FocusReport {
  constructor(send) {
    this.send = send;
    this.focused = null;
    this.visible = null;
  }

  focus(focused) {
    if (this.focused === focused) return false;
    const first = this.focused === null;
    this.focused = focused;
    if (first && focused) return false; // the page starting focused is no event
    this.send({ type: PadAction.FOCUS, state: focused ? "regained" : "lost" });
    return true;
  }

  visibility(visible) {
    if (this.visible === visible) return false;
    const first = this.visible === null;
    this.visible = visible;
    if (first && visible) return false;
    this.send({ type: PadAction.FOCUS, state: visible ? "visible" : "hidden" });
    return true;
  }
}

/**
 * Start reporting from this page (an editor's).
 * @param {object} options
 * @param {(action: object) => boolean} options.send  the events socket's send
 * @param {number} options.threshold  the pad's paste_chars
 * @param {string} options.padId
 * @param {object} options.notices  notices.js: the candidate is told once per pad and browser
 * @param {Window} [options.win]
 * @returns {{inserted: (chars: number) => void, stop: () => void}}
 */
export function startRecording({ send, threshold, padId, notices, win = window }) {
  const report = new FocusReport(send);
  let stopped = false;
  const doc = win.document;
  const onBlur = () => report.focus(false);
  const onFocus = () => report.focus(true);
  const onVisibility = () => report.visibility(doc.visibilityState !== "hidden");
  report.focus(doc.hasFocus());
  report.visibility(doc.visibilityState !== "hidden");
  win.addEventListener("blur", onBlur);
  win.addEventListener("focus", onFocus);
  doc.addEventListener("visibilitychange", onVisibility);
  try {
    if (!win.localStorage.getItem(TOLD_KEY(padId))) {
      notices.show({ text: RECORDED_NOTICE, kind: "info" });
      win.localStorage.setItem(TOLD_KEY(padId), "1");
    }
  } catch {
    notices.show({ text: RECORDED_NOTICE, kind: "info" }); // no storage: told on every visit rather than never
  }
  return {
    inserted(chars) {
      if (!stopped && isPaste(chars, threshold)) send({ type: PadAction.PASTE, size: chars });
    },
    stop() {
      stopped = true;
      win.removeEventListener("blur", onBlur);
      win.removeEventListener("focus", onFocus);
      doc.removeEventListener("visibilitychange", onVisibility);
    },
  };
}
