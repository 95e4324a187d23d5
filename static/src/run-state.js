// What a run's events mean to the person at the pad, as two plain state machines: no DOM, no socket, no timer.
//   OwnRun     a run this page started: connecting -> (queued) -> starting -> (compiling) -> running -> finished,
//              or stopping, cancelled, failed (the server sent an error), unreachable, dropped.
//   JoinedRun  a shared run this page opened from a link, kept across reconnects: joining -> live -> ended,
//              or missing (no such run), refused (not let in), dropped (the connection went).
// Each event returns a Report, what to show, which run-view.js draws:
//   reset {cursor, intro}  clear the run view first (notice, verdict, presence, terminal), then write `intro`
//   status {text, phase}   the status line
//   notice {text, kind, askToken}  the notice line; kind "error" or "info"
//   withdraw               take the notice down if it says exactly this (a warning that no longer holds)
//   line                   a red line for the terminal, on a line of its own
//   note                   a dim line for the terminal
//   verdict, details       the verdict and its labelled details (status.js exitDetails)
//   presence               who is on the run ({drivers, viewers}); null hides it
// Unit-tested in test/run-state.test.js.

import { describeRefusal } from "./access.js";
import { ErrorCode, Role, Stage, Verdict } from "./protocol.js";
import { EndReason, Phase } from "./session.js";
import { driverless } from "./share.js";
import { exitDetails, formatBytes, formatDuration, phaseLabel } from "./status.js";

export const OwnState = Object.freeze({
  CONNECTING: "connecting",
  QUEUED: "queued",
  STARTING: "starting",
  COMPILING: "compiling",
  RUNNING: "running",
  REJOINING: "rejoining", // dropped for falling behind, coming back with a fresh snapshot
  STOPPING: "stopping",
  FINISHED: "finished",
  FAILED: "failed", // the server sent an error
  CANCELLED: "cancelled", // stopped before the program started
  UNREACHABLE: "unreachable",
  DROPPED: "dropped",
});

/** Where a shared run this page joined stands, as the banner tells it. */
export const JoinedState = Object.freeze({
  JOINING: "joining",
  LIVE: "live",
  ENDED: "ended",
  MISSING: "missing", // the link is damaged, or the server knows no live run by its id and key
  REFUSED: "refused", // the server would not let this page join (too many on the run, a token needed)
  DROPPED: "dropped",
});

const ERROR_PREFIX = {
  [ErrorCode.BAD_REQUEST]: "The server refused the run",
  [ErrorCode.UNAUTHORIZED]: "The server needs an API token",
  [ErrorCode.FORBIDDEN_ORIGIN]: "The server refused this page's origin",
  [ErrorCode.UNKNOWN_LANGUAGE]: "The server does not know this language",
  [ErrorCode.LIMIT_EXCEEDED]: "The run asks for more than the server allows",
  [ErrorCode.BUSY]: "The server is busy",
  [ErrorCode.INTERNAL]: "The server failed",
  [ErrorCode.SANDBOX_LOST]: "The run was interrupted",
  [ErrorCode.RUN_LOST]: "The server that ran this program is gone",
  [ErrorCode.UNAVAILABLE]: "The server cannot start runs for a moment",
};

// The status line's word for an error, when "error" would blame the program or the request.
const ERROR_STATUS = {
  [ErrorCode.SANDBOX_LOST]: "interrupted",
  [ErrorCode.RUN_LOST]: "interrupted",
};

export const NO_DRIVER = "No driver is left on this run: the server stops it in a few seconds unless a driver rejoins.";
export const NO_SUCH_RUN =
  "This share link does not lead to a live run: the run has ended, or the link is wrong or cut short. " +
  "Ask for a new link.";
export const SHOWING_JOINED = "This page shows a shared run. Leave it to run your own code.";
export const NOT_LOADED = "The language list has not loaded yet, so there is nothing to run. Retrying…";
export const OWN_LINK =
  "That link leads to your own run, shown here already: send it to someone, or open it in another window.";

const OWN_STATE_BY_PHASE = Object.freeze({
  [Phase.CONNECTING]: OwnState.CONNECTING,
  [Phase.QUEUED]: OwnState.QUEUED,
  [Phase.STARTING]: OwnState.STARTING,
  [Phase.COMPILE]: OwnState.COMPILING,
  [Phase.RUN]: OwnState.RUNNING,
  [Phase.REJOINING]: OwnState.REJOINING,
});

const OWN_STATE_BY_END = Object.freeze({
  [EndReason.FINISHED]: OwnState.FINISHED,
  [EndReason.ERROR]: OwnState.FAILED,
  [EndReason.CANCELLED]: OwnState.CANCELLED,
  [EndReason.UNREACHABLE]: OwnState.UNREACHABLE,
  [EndReason.DROPPED]: OwnState.DROPPED,
});

/** Why Run cannot start a run now (a Report; `reload`: load the language list again), or null when it can. */
export function runBlocked({ joined, ready }) {
  if (joined) return { notice: { text: SHOWING_JOINED, kind: "info" } };
  if (!ready) return { notice: { text: NOT_LOADED, kind: "error" }, reload: true };
  return null;
}

/** What following the page's address means: see `addressAction`. */
export const AddressAction = Object.freeze({
  LEAVE: "leave", // no share link: back to the person's own code
  OWN_RUN: "own-run", // a link to the run this page is running itself
  DAMAGED: "damaged",
  JOIN: "join",
  STAY: "stay", // the joined run shown already
});

/**
 * What to do with the share link in the page's address (share.js parseShareHash: null, {error} or {id, key, role}),
 * given the share of the person's own live run (or null) and the joined run shown (or null).
 */
export function addressAction(link, { ownShare, joined }) {
  if (link === null) return AddressAction.LEAVE;
  // Joining would replace, and so interrupt, the very run the link leads to.
  if (ownShare && link.id === ownShare.id) return AddressAction.OWN_RUN;
  if (link.error) return AddressAction.DAMAGED;
  if (joined === null || !joined.shows(link)) return AddressAction.JOIN;
  return AddressAction.STAY;
}

/**
 * What the events of one run mean, own or joined alike; the two machines below differ where they must.
 * `error` and `end` also get what the session knows: {started, rejoining}.
 */
export class RunState {
  /** @param {{origin: string, host: string}} page  where the pad is, for the words of a notice */
  constructor(page) {
    this.page = page;
    this.version = "";
    this.tty = true; // the mode the run is in: a pipe-mode run's output needs \r\n for a terminal
    this.compileMs = null;
  }

  /** The program's name for the status line, as "python" in "starting python 3.12…". */
  programName() {
    return "";
  }

  /** What to say after the session ended, whatever ended it. */
  tryAgain() {
    return "Press Run to try again.";
  }

  phase(phase, info) {
    if (info.version) this.version = info.version;
    const program = [this.programName(), this.version].filter(Boolean).join(" ");
    const text = phase === Phase.STARTING && program ? `starting ${program}…` : phaseLabel(phase, info);
    return { status: { text, phase } };
  }

  /** Stop pressed: the status line says so once the program has started (before, the run is just cancelled). */
  stop(started) {
    return started ? { status: { text: "stopping…", phase: "stopping" } } : {};
  }

  exit(message) {
    if (message.stage === Stage.COMPILE && message.verdict === Verdict.OK) {
      this.compileMs = message.wall_ms; // told with the run's own numbers at the end
      return {};
    }
    const details = exitDetails(message);
    if (this.compileMs !== null) details.push({ key: "compile", text: `compile ${formatDuration(this.compileMs)}` });
    const compileFailed = message.stage === Stage.COMPILE;
    return {
      verdict: message.verdict,
      details,
      status: { text: compileFailed ? "compile failed" : "finished", phase: "finished" },
    };
  }

  /** The server's `error`; access refusals get words of their own, and unauthorized asks for a token. */
  error(message) {
    const prefix = ERROR_PREFIX[message.code] || "The server reported an error";
    const refusal = describeRefusal(message.code, this.page.origin);
    if (refusal) {
      return {
        notice: { text: refusal.text, kind: "error", askToken: refusal.askToken },
        status: { text: refusal.status, phase: "error" },
        line: `${prefix}.`,
      };
    }
    let text = message.message ? `${prefix}: ${message.message}` : prefix;
    if (Number.isInteger(message.retry_after_s)) text += ` (try again in ${message.retry_after_s} s)`;
    const status = ERROR_STATUS[message.code] || "error";
    return { notice: { text, kind: "error" }, status: { text: status, phase: "error" }, line: `${prefix}.` };
  }

  /** A snapshot: the run as it stands, whose frames follow; a second one means the page fell behind and caught up. */
  snapshot(message, { rejoin }) {
    this.compileMs = null;
    if (message.version) this.version = message.version;
    this.tty = message.tty === true;
    const report = { reset: { cursor: true } };
    if (message.omitted_bytes > 0) {
      report.note = `[${formatBytes(message.omitted_bytes)} of earlier output is no longer kept]`;
    }
    if (rejoin) {
      report.notice = {
        text: "This page fell behind the run's output and caught up from the server: the terminal was redrawn.",
        kind: "info",
      };
    }
    return report;
  }

  presence(counts) {
    return { presence: counts, withdraw: NO_DRIVER };
  }

  /** The server refused input from this page without ending the run (a viewer's typing). */
  refused(message) {
    return { notice: { text: `The server refused input from this page: ${message.message}`, kind: "error" } };
  }

  end({ reason, detail }) {
    const report = { presence: null, withdraw: NO_DRIVER };
    if (reason === EndReason.UNREACHABLE) {
      report.notice = {
        text: `Cannot reach the padbox server at ${this.page.host}: is it running? ${this.tryAgain()}`,
        kind: "error",
      };
      report.status = { text: "not connected", phase: "error" };
    } else if (reason === EndReason.DROPPED) {
      report.notice = {
        text: `The connection to the server dropped before the run finished: ${detail}. ${this.tryAgain()}`,
        kind: "error",
      };
      report.status = { text: "disconnected", phase: "error" };
      report.line = "[connection lost]";
    } else if (reason === EndReason.CANCELLED) {
      report.status = { text: "cancelled", phase: "finished" };
    }
    return report;
  }
}

/** A run this page started, from Run to its end. */
export class OwnRun extends RunState {
  /** @param {{page: {origin, host}, name: string, version: string, tty: boolean}} options */
  constructor({ page, name, version = "", tty }) {
    super(page);
    this.name = name;
    this.version = version;
    this.tty = tty;
    this.state = OwnState.CONNECTING;
  }

  programName() {
    return this.name;
  }

  phase(phase, info) {
    this.state = OWN_STATE_BY_PHASE[phase] ?? this.state;
    return super.phase(phase, info);
  }

  stop(started) {
    this.state = OwnState.STOPPING;
    return super.stop(started);
  }

  exit(message) {
    const report = super.exit(message);
    if (report.verdict) this.state = OwnState.FINISHED;
    return report;
  }

  error(message) {
    this.state = OwnState.FAILED;
    return super.error(message);
  }

  end(info) {
    this.state = OWN_STATE_BY_END[info.reason] ?? this.state;
    return super.end(info);
  }
}

/**
 * A shared run opened from a link ({id, key, role}), shown in place of the person's own code until they leave.
 * It outlives its sessions: Rejoin, or a token typed after a refusal, connects it again.
 */
export class JoinedRun extends RunState {
  /**
   * @param {{id: string, key: string, role: string}} link
   * @param {{page: {origin, host}, languages: () => object[]}} options  `languages` lists the server's languages
   */
  constructor(link, { page, languages }) {
    super(page);
    this.id = link.id;
    this.key = link.key;
    this.role = link.role;
    this.languages = languages;
    this.state = JoinedState.JOINING;
    this.language = ""; // the run's language id, from its snapshot
    this.files = null; // the run's files ({name, content}), from its snapshot
    this.fileIndex = 0; // the file shown
  }

  /** True when this is the run, and the role, `link` leads to. */
  shows(link) {
    return this.id === link.id && this.key === link.key && this.role === link.role;
  }

  /** True while the run may still be going for this page: joining it, or on it. */
  get live() {
    return this.state === JoinedState.JOINING || this.state === JoinedState.LIVE;
  }

  /** The run's language: the server's entry when listed, else what the snapshot says. */
  languageEntry() {
    const id = this.language;
    return this.languages().find((l) => l.id === id) ?? { id, name: id, file: this.files?.[0]?.name };
  }

  programName() {
    return this.languageEntry().name || this.language;
  }

  tryAgain() {
    return "Press Rejoin to try again.";
  }

  /** The link was too damaged to try: say so where the run would have been. */
  damaged(error) {
    this.state = JoinedState.MISSING;
    return {
      reset: { cursor: false },
      notice: { text: error, kind: "error" },
      status: { text: "no such run", phase: "error" },
      line: "This share link is damaged.",
    };
  }

  /** A session is about to join the run (again). */
  connect() {
    this.state = JoinedState.JOINING;
    return { reset: { cursor: false, intro: "Joining the shared run…" } };
  }

  /** True when Rejoin may connect again: the link named a run, and no session is on it now. */
  mayRejoin(sessionActive) {
    return this.id !== "" && !sessionActive;
  }

  /** A token was typed: a run refused for the lack of one is tried again. */
  retriesWithToken() {
    return this.state === JoinedState.REFUSED;
  }

  /** Show another of the run's files. */
  selectFile(index) {
    this.fileIndex = index;
  }

  snapshot(message, options) {
    this.state = JoinedState.LIVE;
    this.language = typeof message.language === "string" ? message.language : "";
    this.version = typeof message.version === "string" ? message.version : "";
    this.files = (Array.isArray(message.files) ? message.files : []).filter(
      (f) => f && typeof f.name === "string" && typeof f.content === "string",
    );
    if (this.fileIndex >= this.files.length) this.fileIndex = 0;
    return super.snapshot(message, options);
  }

  /** @param {{started: boolean, rejoining: boolean}} session  what the session knows */
  error(message, { started, rejoining }) {
    if (rejoining) {
      return {
        notice: {
          text: "This page fell behind the run's output and could not catch up: the run has ended.",
          kind: "error",
        },
        status: { text: "disconnected", phase: "error" },
      };
    }
    // Joining names the run by id and key: the server refuses a wrong pair, or a run that has ended, that way.
    if (!started && message.code === ErrorCode.BAD_REQUEST) {
      this.state = JoinedState.MISSING;
      return {
        notice: { text: NO_SUCH_RUN, kind: "error" },
        status: { text: "no such run", phase: "error" },
        line: "No live run at this link.",
      };
    }
    return super.error(message);
  }

  presence(counts) {
    if (driverless(counts)) return { presence: counts, notice: { text: NO_DRIVER, kind: "info" } };
    return super.presence(counts);
  }

  /** @param {{started: boolean}} session  what the session knows */
  end(info, { started }) {
    this.state = this.stateAfter(info.reason, started);
    return super.end(info);
  }

  stateAfter(reason, started) {
    if (this.state === JoinedState.MISSING) return JoinedState.MISSING;
    if (reason === EndReason.UNREACHABLE || reason === EndReason.DROPPED) return JoinedState.DROPPED;
    if (reason === EndReason.ERROR && !started) return JoinedState.REFUSED;
    return JoinedState.ENDED;
  }

  /** The banner over a joined run: {title, detail, rejoin (show Rejoin), live}. */
  banner() {
    const language = [this.languageEntry().name, this.version].filter(Boolean).join(" ");
    const driving = this.role === Role.DRIVER;
    const [title, detail] = {
      [JoinedState.JOINING]: ["Joining a shared run…", ""],
      [JoinedState.LIVE]: driving
        ? ["Driving a shared run", `${language}: what you type in the terminal goes to the program; the code is read-only.`]
        : ["Watching a shared run", `${language}: you see its code and terminal live, and cannot type into it.`],
      [JoinedState.ENDED]: ["The shared run has ended", "Its output stays here until you go back to your own code."],
      [JoinedState.MISSING]: ["No live run at this link", "It has ended, or the link is wrong or cut short."],
      [JoinedState.REFUSED]: ["Could not join the shared run", "The message above says why."],
      [JoinedState.DROPPED]: ["Disconnected from the shared run", "The run may still be going: rejoin to see it again."],
    }[this.state];
    const rejoin = this.state === JoinedState.DROPPED || this.state === JoinedState.REFUSED;
    return { title, detail, rejoin, live: this.live };
  }
}
