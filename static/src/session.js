// One run over one WebSocket: connecting -> (queued) -> starting -> compile -> run -> end.
// No DOM here: the socket factory and timers are injected, so test/session.test.js drives it with a fake socket.

import {
  describeClose,
  eofMessage,
  isFinalExit,
  parseServerMessage,
  resizeMessage,
  ServerType,
  Signal,
  signalMessage,
  stdinMessage,
} from "./protocol.js";

export const Phase = Object.freeze({
  CONNECTING: "connecting",
  QUEUED: "queued",
  STARTING: "starting",
  COMPILE: "compile",
  RUN: "run",
});

/** Why a session ended; `end` is called exactly once with one of these, unless the session was abandoned. */
export const EndReason = Object.freeze({
  FINISHED: "finished", // the server sent the last `exit` and closed
  ERROR: "error", // the server sent an `error`
  UNREACHABLE: "unreachable", // the socket never opened
  DROPPED: "dropped", // the socket closed before the run finished
  CANCELLED: "cancelled", // stopped before the program started
});

const OPEN = 1;
const NO_HANDLERS = Object.freeze({ phase() {}, output() {}, exit() {}, error() {}, end() {} });

export class RunSession {
  /**
   * @param {object} options
   * @param {string} options.url  the /ws address
   * @param {object} options.request  the `run` message
   * @param {object} options.handlers  phase(phase, info), output(stream, stage, data), exit(msg), error(msg), end(info)
   * @param {number} [options.killAfterMs]  how long Stop waits after SIGINT before SIGKILL
   */
  constructor({ url, request, handlers, createSocket = (u) => new WebSocket(u), timers = globalThis, killAfterMs = 1000 }) {
    this.url = url;
    this.request = request;
    this.handlers = { ...NO_HANDLERS, ...handlers };
    this.createSocket = createSocket;
    this.timers = timers;
    this.killAfterMs = killAfterMs;
    this.socket = null;
    this.opened = false;
    this.started = false;
    this.finished = false; // the last `exit` arrived
    this.errored = false;
    this.ended = false;
    this.stopping = false;
    this.killTimer = null;
  }

  /** True until the session has ended (or been abandoned). */
  get active() {
    return !this.ended;
  }

  /** True while a program may be running and reading input. */
  get running() {
    return !this.ended && this.opened && !this.finished && !this.errored;
  }

  start() {
    this.handlers.phase(Phase.CONNECTING, {});
    let socket;
    try {
      socket = this.createSocket(this.url);
    } catch (err) {
      this.end(EndReason.UNREACHABLE, { detail: String(err && err.message ? err.message : err) });
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.opened = true;
      this.send(this.request);
      this.handlers.phase(Phase.STARTING, {});
    };
    socket.onmessage = (event) => this.receive(event.data);
    // A browser follows every `error` with a `close`, which carries the code; all endings are decided there.
    socket.onerror = () => {};
    socket.onclose = (event) => this.closed(event.code, event.reason);
  }

  receive(text) {
    if (this.ended || typeof text !== "string") return;
    const message = parseServerMessage(text);
    if (message === null) return;
    switch (message.type) {
      case ServerType.QUEUED:
        this.handlers.phase(Phase.QUEUED, { position: message.position });
        break;
      case ServerType.STARTED:
        this.started = true;
        this.handlers.phase(Phase.STARTING, { version: message.version, id: message.id });
        break;
      case ServerType.STAGE:
        this.handlers.phase(message.stage === Phase.COMPILE ? Phase.COMPILE : Phase.RUN, {});
        break;
      case ServerType.STDOUT:
      case ServerType.STDERR:
        if (typeof message.data === "string") this.handlers.output(message.type, message.stage, message.data);
        break;
      case ServerType.EXIT:
        if (isFinalExit(message)) {
          this.finished = true;
          this.clearKillTimer();
        }
        this.handlers.exit(message);
        break;
      case ServerType.ERROR:
        this.errored = true;
        this.clearKillTimer();
        this.handlers.error(message);
        break;
      default:
        break; // a newer server's message this pad does not know: ignore it
    }
  }

  closed(code, reason) {
    this.clearKillTimer();
    if (this.ended) return;
    if (this.errored) this.end(EndReason.ERROR, { code });
    else if (this.finished) this.end(EndReason.FINISHED, { code });
    else if (this.stopping && !this.started) this.end(EndReason.CANCELLED, { code });
    else if (!this.opened) this.end(EndReason.UNREACHABLE, { code, detail: reason || "" });
    else this.end(EndReason.DROPPED, { code, detail: reason || describeClose(code) });
  }

  end(reason, info) {
    if (this.ended) return;
    this.ended = true;
    this.handlers.end({ reason, ...info });
  }

  send(message) {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  sendStdin(data) {
    if (this.running && data) this.send(stdinMessage(data));
  }

  sendEof() {
    if (this.running) this.send(eofMessage());
  }

  /** Ctrl+C in pipe mode: SIGINT alone; the program may catch it and go on. */
  interrupt() {
    if (this.running) this.send(signalMessage(Signal.SIGINT));
  }

  resize(cols, rows) {
    if (this.running) this.send(resizeMessage(cols, rows));
  }

  /**
   * Interrupt the program and kill it if it is still running `killAfterMs` later (or on a second stop).
   * Before the program has started, cancel the run instead.
   */
  stop() {
    if (this.ended) return;
    if (this.stopping) {
      // A second Stop does not wait.
      if (this.running) this.send(signalMessage(Signal.SIGKILL));
      return;
    }
    this.stopping = true;
    if (!this.started) {
      this.closeSocket();
      return;
    }
    this.send(signalMessage(Signal.SIGINT));
    this.killTimer = this.timers.setTimeout(() => {
      this.killTimer = null;
      if (this.running) this.send(signalMessage(Signal.SIGKILL));
    }, this.killAfterMs);
  }

  /** Let go of this run for a new one: interrupt it, close the socket and report nothing more. */
  abandon() {
    if (this.ended) return;
    this.handlers = NO_HANDLERS;
    if (this.running) this.send(signalMessage(Signal.SIGINT));
    this.ended = true;
    this.clearKillTimer();
    this.closeSocket();
  }

  closeSocket() {
    if (!this.socket) return;
    try {
      this.socket.close(1000);
    } catch {
      // already closing
    }
  }

  clearKillTimer() {
    if (this.killTimer !== null) {
      this.timers.clearTimeout(this.killTimer);
      this.killTimer = null;
    }
  }
}
