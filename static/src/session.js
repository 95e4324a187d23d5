// One run over one WebSocket: connecting -> (queued) -> starting -> compile -> run -> end.
// A session may also join someone else's shared run: joining -> snapshot (what was missed) -> live frames -> end.
// No DOM here: the socket factory and timers are injected, so test/session.test.js drives it with a fake socket.

import {
  ClientType,
  CloseCode,
  describeClose,
  eofMessage,
  ErrorCode,
  isFinalExit,
  joinMessage,
  parseServerMessage,
  resizeMessage,
  Role,
  ServerType,
  Signal,
  signalMessage,
  Stage,
  stdinMessage,
} from "./protocol.js";

export const Phase = Object.freeze({
  CONNECTING: "connecting",
  JOINING: "joining",
  QUEUED: "queued",
  STARTING: "starting",
  COMPILE: "compile",
  RUN: "run",
  REJOINING: "rejoining",
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
const NO_HANDLERS = Object.freeze({
  phase() {},
  output() {},
  exit() {},
  error() {},
  end() {},
  snapshot() {},
  presence() {},
  refused() {},
});

// The frames a snapshot replays; anything else in it (a `queued` from before the start) is not output.
const REPLAYED = new Set([ServerType.STAGE, ServerType.STDOUT, ServerType.STDERR, ServerType.INPUT, ServerType.EXIT]);

export class RunSession {
  /**
   * @param {object} options
   * @param {string} options.url  the /ws address
   * @param {object} options.request  the first message: a `run`, or a `join` of someone else's shared run
   * @param {object} options.handlers  phase(phase, info), output(stream, stage, data), exit(msg), error(msg),
   *   end(info), snapshot(msg, {rejoin}), presence({drivers, viewers}), refused(msg)
   * @param {number} [options.killAfterMs]  how long Stop waits after SIGINT before SIGKILL
   * @param {number} [options.rejoinDelayMs]  the pause before rejoining a run the server dropped us from
   * @param {number} [options.maxRejoins]  how many times in one session; past it the connection counts as dropped
   * @param {boolean} [options.sendsSize]  whether `resize` reaches the server: the starter's by default; on a pad,
   *   the page whose person pressed Run (a joined driver there)
   */
  constructor({
    url,
    request,
    handlers,
    createSocket = (u) => new WebSocket(u),
    timers = globalThis,
    killAfterMs = 1000,
    rejoinDelayMs = 500,
    maxRejoins = 3,
    sendsSize = undefined,
  }) {
    this.url = url;
    this.request = request;
    this.handlers = { ...NO_HANDLERS, ...handlers };
    this.createSocket = createSocket;
    this.timers = timers;
    this.killAfterMs = killAfterMs;
    this.rejoinDelayMs = rejoinDelayMs;
    this.maxRejoins = maxRejoins;
    this.joined = request.type === ClientType.JOIN; // someone else started the run
    this.sendsSize = sendsSize ?? !this.joined;
    this.role = this.joined ? request.role : Role.DRIVER;
    this.runId = this.joined ? request.id : null;
    // The key this page joins (and rejoins) with, and the keys it may pass on: a starter learns both from
    // `started`, a joiner from its snapshot (a viewer is only ever given the viewer key).
    this.joinKey = this.joined ? request.key : null;
    this.shareKeys = {};
    this.socket = null;
    this.opened = false;
    this.started = false; // `started` (or, for a joiner, the snapshot) arrived
    this.finished = false; // the last `exit` arrived
    this.errored = false;
    this.ended = false;
    this.stopping = false;
    this.rejoining = false;
    this.rejoins = 0;
    this.killTimer = null;
    this.rejoinTimer = null;
  }

  /** True until the session has ended (or been abandoned). */
  get active() {
    return !this.ended;
  }

  /** True while a program may be running and reading input. */
  get running() {
    return !this.ended && this.opened && !this.finished && !this.errored;
  }

  /** True while what is typed reaches the program: a viewer's typing never does. */
  get canType() {
    return this.running && this.role === Role.DRIVER;
  }

  /** The run's id and the keys this page may pass on ({driver?, viewer?}) while others can join it, else null. */
  get share() {
    if (!this.running || !this.started || !this.runId || Object.keys(this.shareKeys).length === 0) return null;
    return { id: this.runId, keys: { ...this.shareKeys } };
  }

  /** Learn the keys a `started` or `snapshot` frame hands this page. */
  learnKeys(message) {
    for (const [role, field] of [[Role.DRIVER, "driver_key"], [Role.VIEWER, "viewer_key"]]) {
      if (typeof message[field] === "string") this.shareKeys[role] = message[field];
    }
  }

  start() {
    this.handlers.phase(this.joined ? Phase.JOINING : Phase.CONNECTING, {});
    this.connect(this.request);
  }

  connect(firstMessage) {
    let socket;
    try {
      socket = this.createSocket(this.url);
    } catch (err) {
      this.end(EndReason.UNREACHABLE, { detail: String(err && err.message ? err.message : err) });
      return;
    }
    this.socket = socket;
    const current = () => socket === this.socket; // a rejoin replaces the socket; the old one is ignored
    socket.onopen = () => {
      if (!current()) return;
      this.opened = true;
      this.send(firstMessage);
      if (firstMessage.type === ClientType.RUN) this.handlers.phase(Phase.STARTING, {});
    };
    socket.onmessage = (event) => {
      if (current()) this.receive(event.data);
    };
    // A browser follows every `error` with a `close`, which carries the code; all endings are decided there.
    socket.onerror = () => {};
    socket.onclose = (event) => {
      if (current()) this.closed(event.code, event.reason);
    };
  }

  receive(text) {
    if (this.ended || typeof text !== "string") return;
    const message = parseServerMessage(text);
    if (message !== null) this.handle(message);
  }

  handle(message) {
    switch (message.type) {
      case ServerType.QUEUED:
        this.handlers.phase(Phase.QUEUED, { position: message.position });
        break;
      case ServerType.STARTED:
        this.started = true;
        if (typeof message.id === "string") this.runId = message.id;
        this.learnKeys(message);
        this.joinKey = this.shareKeys[Role.DRIVER] || null;
        this.handlers.phase(Phase.STARTING, { version: message.version, id: message.id });
        break;
      case ServerType.SNAPSHOT:
        this.replay(message);
        break;
      case ServerType.PRESENCE:
        if (Number.isInteger(message.drivers) && Number.isInteger(message.viewers)) {
          this.handlers.presence({ drivers: message.drivers, viewers: message.viewers });
        }
        break;
      case ServerType.STAGE:
        this.handlers.phase(message.stage === Phase.COMPILE ? Phase.COMPILE : Phase.RUN, {});
        break;
      case ServerType.STDOUT:
      case ServerType.STDERR:
        if (typeof message.data === "string") this.handlers.output(message.type, message.stage, message.data);
        break;
      case ServerType.INPUT: // another driver's typing in a pipe-mode shared run, shown as the terminal would
        if (typeof message.data === "string") this.handlers.output(ServerType.STDOUT, Stage.RUN, message.data);
        break;
      case ServerType.EXIT:
        if (isFinalExit(message)) {
          this.finished = true;
          this.clearKillTimer();
        }
        this.handlers.exit(message);
        break;
      case ServerType.ERROR:
        // A viewer's input is refused without ending its watch; the pad never sends any, but say so if it did.
        if (this.role === Role.VIEWER && this.started && message.code === ErrorCode.BAD_REQUEST) {
          this.handlers.refused(message);
          break;
        }
        this.errored = true;
        this.clearKillTimer();
        this.handlers.error(message);
        break;
      default:
        break; // a newer server's message this pad does not know: ignore it
    }
  }

  /** A snapshot: the run as it stands, then every frame so far, handled as if it had just arrived. */
  replay(snapshot) {
    const rejoin = this.started;
    this.started = true;
    this.rejoining = false;
    if (typeof snapshot.id === "string") this.runId = snapshot.id;
    this.learnKeys(snapshot);
    this.handlers.snapshot(snapshot, { rejoin });
    if (!snapshot.stage) this.handlers.phase(Phase.STARTING, { version: snapshot.version, id: snapshot.id });
    for (const frame of Array.isArray(snapshot.frames) ? snapshot.frames : []) {
      if (this.ended) return;
      if (frame !== null && typeof frame === "object" && REPLAYED.has(frame.type)) this.handle(frame);
    }
  }

  closed(code, reason) {
    this.clearKillTimer();
    if (this.ended) return;
    if (this.errored) this.end(EndReason.ERROR, { code });
    else if (this.finished) this.end(EndReason.FINISHED, { code });
    else if (this.mayRejoin(code)) this.rejoin();
    else if (this.stopping && !this.started) this.end(EndReason.CANCELLED, { code });
    else if (!this.opened) this.end(EndReason.UNREACHABLE, { code, detail: reason || "" });
    else this.end(EndReason.DROPPED, { code, detail: reason || describeClose(code) });
  }

  /** The server drops a participant that fell too far behind (1013) and lets it come back with a fresh snapshot. */
  mayRejoin(code) {
    return code === CloseCode.TRY_AGAIN_LATER && this.started && Boolean(this.joinKey) && this.rejoins < this.maxRejoins;
  }

  rejoin() {
    this.rejoins += 1;
    this.rejoining = true;
    this.handlers.phase(Phase.REJOINING, {});
    this.rejoinTimer = this.timers.setTimeout(() => {
      this.rejoinTimer = null;
      if (!this.ended) this.connect(joinMessage(this.runId, this.joinKey, this.role));
    }, this.rejoinDelayMs);
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
    if (this.canType && data) this.send(stdinMessage(data));
  }

  sendEof() {
    if (this.canType) this.send(eofMessage());
  }

  /** Ctrl+C in pipe mode: SIGINT alone; the program may catch it and go on. */
  interrupt() {
    if (this.canType) this.send(signalMessage(Signal.SIGINT));
  }

  /** The pseudo-terminal takes the starter's size; a joiner's window would fight the starter's over it. */
  resize(cols, rows) {
    if (this.canType && this.sendsSize) this.send(resizeMessage(cols, rows));
  }

  /**
   * Interrupt the program and kill it if it is still running `killAfterMs` later (or on a second stop).
   * Before the program has started, cancel the run instead.
   */
  stop() {
    if (this.ended || this.role !== Role.DRIVER) return;
    if (this.stopping) {
      // A second Stop does not wait.
      if (this.canType) this.send(signalMessage(Signal.SIGKILL));
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
      if (this.canType) this.send(signalMessage(Signal.SIGKILL));
    }, this.killAfterMs);
  }

  /**
   * Let go of this run and report nothing more. Your own run is interrupted (a new one replaces it);
   * a run you joined goes on for the others.
   */
  abandon() {
    if (this.ended) return;
    this.handlers = NO_HANDLERS;
    if (this.canType && !this.joined) this.send(signalMessage(Signal.SIGINT));
    this.ended = true;
    this.clearKillTimer();
    if (this.rejoinTimer !== null) {
      this.timers.clearTimeout(this.rejoinTimer);
      this.rejoinTimer = null;
    }
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
