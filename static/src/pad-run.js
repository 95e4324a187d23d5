// What a pad's run means to a page on the pad. Every page joins the pad's run on /ws with the key the events
// socket handed it (a driver's for edit and owner, a viewer's for view) and shows it in its terminal; the
// Reports are run-state.js's, drawn by run-view.js. No DOM: tested in test/pad-run.test.js.

import { ErrorCode, Role } from "./protocol.js";
import { RunState } from "./run-state.js";
import { EndReason } from "./session.js";

export const MISSED =
  "The run finished before this page could join it: its output is in the pad's history (the owner's Playback).";

export class PadRunState extends RunState {
  /**
   * @param {{run_id: string, key: string, by: string}} run  the `pad_run` event (or the `pad` message's run)
   * @param {{page: {origin, host}, role: string, language: () => string}} options  `role` is the /ws role
   */
  constructor(run, { page, role, language }) {
    super(page);
    this.id = run.run_id;
    this.key = run.key;
    this.by = typeof run.by === "string" ? run.by : "";
    this.role = role;
    this.language = language;
    this.missed = false;
  }

  programName() {
    return this.language();
  }

  tryAgain() {
    return this.role === Role.DRIVER ? "Press Run to run it again." : "";
  }

  /** A session is about to join the run: a clean terminal that says whose run it is. */
  connect() {
    const who = this.by ? `${this.by} ran the pad` : "The pad is running";
    return { reset: { cursor: false, intro: `${who}…` }, status: { text: "joining the run…", phase: "connecting" } };
  }

  snapshot(message, options) {
    const report = super.snapshot(message, options);
    report.notice = undefined; // a caught-up redraw needs no words on a pad: the terminal just shows the run
    if (this.by) report.note = `[${this.by} ran the pad]`;
    return report;
  }

  /** @param {{started: boolean}} session */
  error(message, { started }) {
    // The run has ended and left the registry before this page came: nothing to show but that.
    if (!started && message.code === ErrorCode.BAD_REQUEST) {
      this.missed = true;
      return { status: { text: "finished", phase: "finished" }, note: MISSED };
    }
    return super.error(message);
  }

  end(info) {
    if (this.missed) return { presence: null };
    // A run stopped by the server because the pad ended, or a new Run replaced it, ends quietly.
    if (info.reason === EndReason.ERROR) return { presence: null };
    return super.end(info);
  }
}
