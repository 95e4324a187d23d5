// One of a pad's JSON sockets (events, language help) over its life: open, reconnect after a drop with a growing
// pause, stop for good when the server's close says trying again cannot help, and what each close means to a
// person (the pad's close codes are here, for every pad socket). What the frames mean is its owner's business.
// No DOM: the socket factory and timers are injected, and the owners' tests (test/pad-events.test.js,
// test/pad-lsp-connection.test.js) drive it through fake sockets.

import { CloseCode, describeClose } from "./protocol.js";

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

const NO_LISTENER = Object.freeze({ trying() {}, open() {}, text() {}, closed() {} });

export class PadSocket {
  /**
   * @param {object} options
   * @param {string} options.url
   * @param {object} options.on  trying(failures) before each socket is made (0 the first time), open(),
   *   text(data) for each text frame, closed({code, reason, text, final}) after each close
   * @param {(url: string) => WebSocket} [options.createSocket]
   * @param {number} [options.maxDelayMs]  the longest pause between two tries
   */
  constructor({ url, on, createSocket = (u) => new WebSocket(u), timers = globalThis, maxDelayMs = 5000 }) {
    this.url = url;
    this.on = { ...NO_LISTENER, ...on };
    this.createSocket = createSocket;
    this.timers = timers;
    this.maxDelayMs = maxDelayMs;
    this.socket = null;
    this.open = false;
    this.failures = 0;
    this.timer = null;
    this.stopped = false;
    this.closingReason = ""; // why the server said it is closing, for a close frame that carries no reason
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** The server has answered on this socket: the next drop starts the pauses over. */
  answered() {
    this.failures = 0;
  }

  /** Send `text` if the socket is open; false when it is not. */
  send(text) {
    if (!this.open || !this.socket) return false;
    this.socket.send(text);
    return true;
  }

  connect() {
    if (this.stopped) return;
    this.on.trying(this.failures);
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
      this.open = true;
      this.on.open();
    };
    socket.onmessage = (event) => {
      if (socket === this.socket && typeof event.data === "string") this.on.text(event.data);
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (socket === this.socket) this.closed(event.code, event.reason);
    };
  }

  closed(code, reason) {
    this.socket = null;
    this.open = false;
    if (this.stopped) return;
    const words = describePadClose(code, reason || this.closingReason || "");
    this.closingReason = "";
    if (words.final) this.stopped = true;
    this.on.closed({ code, reason, ...words });
    if (words.final) return;
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
    this.open = false;
    if (socket) {
      try {
        socket.close(1000);
      } catch {
        // already closing
      }
    }
  }
}
