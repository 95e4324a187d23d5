// The pad's language-help socket (/ws/pads/<id>/lsp): one JSON-RPC message per text frame, reconnecting after a
// drop like the events socket (pad-socket.js). It is also the `Transport` @codemirror/lsp-client talks through,
// and it keeps the library's questions from ever waiting on a socket that is down or on help that is off: those
// are answered here, at once, with the same empty answers the server gives a stale request. No DOM and no
// CodeMirror: the socket factory and timers are injected (test/pad-lsp-connection.test.js).

import { emptyResult, HelpState, mayAsk, stateOfError, withHash } from "./lsp-wire.js";
import { PadSocket } from "./pad-socket.js";

// The page's copy of a document is never the truth (the server feeds its language server from the pad's Y.Doc),
// so sending it would only cost bandwidth: these notifications stay in the page.
const KEPT_HERE = new Set([
  "textDocument/didOpen",
  "textDocument/didChange",
  "textDocument/didClose",
  "textDocument/didSave",
]);

const NOT_CONNECTED = -32099; // JSON-RPC's server-error range: an `initialize` the dropped socket never answered

const NO_HANDLERS = Object.freeze({ state() {}, open() {}, closed() {} });

// How long a question waits for the server before it gets the empty answer here. The server's own deadline for a
// starting or hung language server (PADBOX_LSP_DEADLINE_S, 20 s) is longer than anyone waits for a completion list.
export const ANSWER_WITHIN_MS = 10000;

export class PadLspConnection {
  /**
   * @param {object} options
   * @param {string} options.url  the socket's address, key and name included
   * @param {(uri: string) => string | null} options.getText  a document's text in this page now (for the hash)
   * @param {object} options.handlers  state({state, language, message}) on every change (the page's own
   *   connecting states too), open() when a socket opens (the client then initializes over it again),
   *   closed({code, reason, text, final}) for each close
   * @param {(url: string) => WebSocket} [options.createSocket]
   * @param {number} [options.maxDelayMs]  the longest pause between two tries
   * @param {number} [options.answerWithinMs]  how long a question waits before its empty answer
   */
  constructor({
    url,
    getText,
    handlers,
    createSocket,
    timers = globalThis,
    maxDelayMs,
    answerWithinMs = ANSWER_WITHIN_MS,
  }) {
    this.getText = getText;
    this.answerWithinMs = answerWithinMs;
    this.handlers = { ...NO_HANDLERS, ...handlers };
    this.timers = timers;
    this.subscribers = [];
    this.pending = new Map(); // request id -> {method, timer}, for requests the socket has not answered yet
    this.help = { state: HelpState.CONNECTING, language: "", message: "" };
    this.socket = new PadSocket({
      url,
      createSocket,
      timers,
      maxDelayMs,
      on: {
        trying: (failures) => this.setHelp({ state: failures === 0 ? HelpState.CONNECTING : HelpState.RECONNECTING }),
        open: () => this.handlers.open(),
        text: (text) => this.receive(text),
        closed: (close) => this.closed(close),
      },
    });
  }

  // --- the Transport @codemirror/lsp-client asks for

  subscribe(handler) {
    if (!this.subscribers.includes(handler)) this.subscribers.push(handler);
  }

  unsubscribe(handler) {
    this.subscribers = this.subscribers.filter((h) => h !== handler);
  }

  /** One message from the client: sent on the socket, kept here, or answered here (never thrown back). */
  send(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    const isRequest = typeof message.method === "string" && "id" in message;
    if (!isRequest) {
      if (!KEPT_HERE.has(message.method)) this.socket.send(text);
      return;
    }
    if (message.method === "initialize") {
      if (this.socket.open) this.forward(message);
      else this.answerLater({ jsonrpc: "2.0", id: message.id, error: { code: NOT_CONNECTED, message: "not connected" } });
      return;
    }
    if (!this.socket.open || !mayAsk(this.help.state)) {
      this.answerLater({ jsonrpc: "2.0", id: message.id, result: emptyResult(message.method) });
      return;
    }
    this.forward(withHash(message, this.getText));
  }

  forward(message) {
    const timer = this.timers.setTimeout(() => this.answerNow(message.id), this.answerWithinMs);
    this.pending.set(message.id, { method: message.method, timer });
    this.socket.send(JSON.stringify(message));
  }

  /** Answer a question the server has not answered (yet) with the empty answer; a late answer is dropped. */
  answerNow(id) {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    this.timers.clearTimeout(request.timer);
    this.deliver(
      JSON.stringify(
        request.method === "initialize"
          ? { jsonrpc: "2.0", id, error: { code: NOT_CONNECTED, message: "no answer from the server" } }
          : { jsonrpc: "2.0", id, result: emptyResult(request.method) },
      ),
    );
  }

  /** Deliver an answer made here after the library has registered its request (it sends, then waits). */
  answerLater(message) {
    this.timers.setTimeout(() => this.deliver(JSON.stringify(message)), 0);
  }

  deliver(text) {
    for (const handler of [...this.subscribers]) handler(text);
  }

  // --- the socket

  start() {
    this.socket.start();
  }

  setHelp(help) {
    this.help = {
      state: String(help.state ?? HelpState.IDLE),
      language: String(help.language ?? this.help.language ?? ""),
      message: String(help.message ?? ""),
    };
    this.handlers.state(this.help);
  }

  /** One frame from the server: the state for the page, anything else for the client (refusals made empty). */
  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.method === "padbox/state") {
      this.socket.answered();
      if (message.params && typeof message.params.state === "string") this.setHelp(message.params);
      return;
    }
    if ("id" in message && !("method" in message)) {
      const request = this.pending.get(message.id);
      if (!request) return; // answered here already (the deadline passed, or the socket it came on dropped)
      this.pending.delete(message.id);
      this.timers.clearTimeout(request.timer);
      const { method } = request;
      if (message.error && method !== "initialize") {
        // A refusal (view role, help off, unavailable, unsupported) is a state, not a failure to show: the
        // question gets the empty answer, and the indicator says why.
        const state = stateOfError(message.error.code);
        if (state && state !== this.help.state) this.setHelp({ state, message: message.error.message ?? "" });
        this.deliver(JSON.stringify({ jsonrpc: "2.0", id: message.id, result: emptyResult(method) }));
        return;
      }
    }
    this.deliver(text);
  }

  /** Every question still waiting on a socket that is gone gets its empty answer now. */
  answerPending() {
    for (const id of [...this.pending.keys()]) this.answerNow(id);
  }

  closed(close) {
    this.answerPending();
    this.handlers.closed(close);
    if (close.final) this.setHelp({ state: HelpState.UNAVAILABLE, message: close.text });
    else this.setHelp({ state: HelpState.RECONNECTING });
  }

  /** Close for good (the page goes away, or its pad was closed to it). */
  stop() {
    this.socket.stop();
    this.answerPending();
  }
}
