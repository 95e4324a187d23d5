// A pad's events socket (/ws/pads/<id>/events): the pad as it stands, runs starting and finishing, the pad
// ending; the other way, the page's actions (Run tests). It reconnects after a drop (with a growing pause) unless the server said the pad is gone for this
// key, and says what each close means. No DOM: the socket factory and timers are injected (test/pad-events.test.js).

import { CloseCode, describeClose, parseServerMessage } from "./protocol.js";

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

/** How the server closes a pad socket (server/padbox/pads/model.py PadCloseCode). */
export const PadCloseCode = Object.freeze({
  MALFORMED: 4400,
  NOT_FOUND: 4404,
  TOO_LARGE: 4413,
  TOO_FAST: 4429,
});

export const NO_SUCH_PAD = "no pad has that id and key";

/**
 * What a pad socket's close means to a person: {text, final}. `final`: trying again will not help (the key is
 * wrong or was replaced, or the page broke a rule), so the page stops and says so.
 */
export function describePadClose(code, reason) {
  const why = reason ? `: ${reason}` : "";
  switch (code) {
    case PadCloseCode.NOT_FOUND:
      return {
        text: `This link no longer opens the pad (${reason || NO_SUCH_PAD}). The owner may have replaced it: ask for a new one.`,
        final: true,
      };
    case PadCloseCode.TOO_LARGE:
      return { text: `The server refused an edit as too large${why}. Reload to carry on from the pad as it is.`, final: true };
    case PadCloseCode.TOO_FAST:
      return { text: `The server refused this page${why}.`, final: true };
    case PadCloseCode.MALFORMED:
      return { text: `The server refused a message from this page${why}.`, final: true };
    case CloseCode.POLICY_VIOLATION:
      return { text: `The server refused this page${why}.`, final: true };
    default:
      return { text: `Lost the connection to the pad (${reason || describeClose(code)}). Reconnecting…`, final: false };
  }
}

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
  constructor({ url, handlers, createSocket = (u) => new WebSocket(u), timers = globalThis, maxDelayMs = 5000 }) {
    this.url = url;
    this.handlers = { ...NO_HANDLERS, ...handlers };
    this.createSocket = createSocket;
    this.timers = timers;
    this.maxDelayMs = maxDelayMs;
    this.socket = null;
    this.connected = false; // the socket is open: an action can be sent
    this.failures = 0;
    this.timer = null;
    this.stopped = false;
    this.pad = null; // the last `pad` message, ended folded in
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    this.handlers.status(this.failures === 0 ? "connecting" : "reconnecting");
    let socket;
    try {
      socket = this.createSocket(this.url);
    } catch {
      this.closed(1006, "");
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket !== this.socket) return;
      this.connected = true;
      this.handlers.status("connected");
    };
    socket.onmessage = (event) => {
      if (socket === this.socket && typeof event.data === "string") this.receive(event.data);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (socket === this.socket) this.closed(event.code, event.reason);
    };
  }

  receive(text) {
    const message = parseServerMessage(text);
    if (message === null) return;
    switch (message.type) {
      case PadEventType.PAD:
        this.failures = 0;
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
        this.closingReason = typeof message.reason === "string" ? message.reason : "";
        break;
      default:
        this.handlers.other?.(message); // the question panel's events, or a newer server's
        break;
    }
  }

  /** Send an action ({type: PadAction...}); false when the socket is not open (the page says so). */
  send(action) {
    if (!this.connected || !this.socket) return false;
    this.socket.send(JSON.stringify(action));
    return true;
  }

  closed(code, reason) {
    this.socket = null;
    this.connected = false;
    if (this.stopped) return;
    const words = describePadClose(code, reason || this.closingReason || "");
    this.closingReason = "";
    this.handlers.closed({ code, reason, ...words });
    if (words.final) {
      this.stopped = true;
      return;
    }
    this.failures += 1;
    const delay = Math.min(this.maxDelayMs, 250 * 2 ** Math.min(this.failures, 6));
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  /** Close for good (the page goes away). */
  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    this.connected = false;
    if (socket) {
      try {
        socket.close(1000);
      } catch {
        // already closing
      }
    }
  }
}
