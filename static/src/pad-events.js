// A pad's events socket (/ws/pads/<id>/events): the pad as it stands, runs starting and finishing, the pad
// ending; the other way, the page's actions (Run tests). It reconnects after a drop (with a growing pause) unless
// the server said the pad is gone for this key, and says what each close means (pad-socket.js). No DOM: the socket
// factory and timers are injected (test/pad-events.test.js).

import { PadSocket } from "./pad-socket.js";
import { parseServerMessage } from "./protocol.js";

export { describePadClose, NO_SUCH_PAD, PadCloseCode } from "./pad-socket.js";

/** The events socket's messages, server -> client (server/padbox/pads/messages.py). */
export const PadEventType = Object.freeze({
  PAD: "pad",
  RUN: "pad_run",
  RUN_FINISHED: "pad_run_finished",
  ENDED: "pad_ended",
  CLOSED: "pad_closed",
  ERROR: "error", // an action of this page's was refused (the other pages are not told)
  MARK: "pad_mark", // a paste, a focus change or a pinned note, as recorded (the owner's sockets only)
});

/** The page's actions, client -> server (server/padbox/pads/messages.py PadAction). */
export const PadAction = Object.freeze({
  RUN_TESTS: "run_tests",
  PASTE: "paste", // {size}: an editor's one edit inserted more than the pad's paste_chars
  FOCUS: "focus", // {state: lost | regained | hidden | visible}: an editor's page
  NOTE: "note", // {text}: the owner pins a note to this moment
});

const NO_HANDLERS = Object.freeze({
  pad() {},
  run() {},
  runFinished() {},
  ended() {},
  refused() {},
  status() {},
  closed() {},
});

export class PadEvents {
  /**
   * @param {object} options
   * @param {string} options.url  the events socket's address, key and name included
   * @param {object} options.handlers  pad(msg), run(msg), runFinished(msg), ended(msg), refused(msg) (an action),
   *   status("connecting"|"connected"|"reconnecting"), closed({code, reason, text, final}) for each close
   * @param {(url: string) => WebSocket} [options.createSocket]
   * @param {number} [options.maxDelayMs]  the longest pause between two tries
   */
  constructor({ url, handlers, createSocket, timers, maxDelayMs }) {
    this.handlers = { ...NO_HANDLERS, ...handlers };
    this.pad = null; // the last `pad` message, ended folded in
    this.socket = new PadSocket({
      url,
      createSocket,
      timers,
      maxDelayMs,
      on: {
        trying: (failures) => this.handlers.status(failures === 0 ? "connecting" : "reconnecting"),
        open: () => this.handlers.status("connected"),
        text: (text) => this.receive(text),
        closed: (close) => this.handlers.closed(close),
      },
    });
  }

  /** Failed tries since the server last sent the pad (0 once it has). */
  get failures() {
    return this.socket.failures;
  }

  /** The socket is open: an action can be sent. */
  get connected() {
    return this.socket.open;
  }

  start() {
    this.socket.start();
  }

  receive(text) {
    const message = parseServerMessage(text);
    if (message === null) return;
    switch (message.type) {
      case PadEventType.PAD:
        this.socket.answered();
        this.pad = message;
        this.handlers.pad(message);
        break;
      case PadEventType.RUN:
        if (typeof message.run_id === "string" && typeof message.key === "string") this.handlers.run(message);
        break;
      case PadEventType.RUN_FINISHED:
        this.handlers.runFinished(message);
        break;
      case PadEventType.ENDED:
        if (this.pad) this.pad = { ...this.pad, ended: true };
        this.handlers.ended(message);
        break;
      case PadEventType.ERROR:
        this.handlers.refused(message);
        break;
      case PadEventType.CLOSED:
        this.socket.closingReason = typeof message.reason === "string" ? message.reason : "";
        break;
      default:
        this.handlers.other?.(message); // the question panel's events, or a newer server's
        break;
    }
  }

  /** Send an action ({type: PadAction...}); false when the socket is not open (the page says so). */
  send(action) {
    return this.socket.send(JSON.stringify(action));
  }

  /** Close for good (the page goes away). */
  stop() {
    this.socket.stop();
  }
}
