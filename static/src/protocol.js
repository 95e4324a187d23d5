// The /ws wire protocol as the pad speaks it. server/padbox/core/protocol.py is the definition: every name here is
// spelled as there, and verdicts, stages and error codes are complete (tests/e2e/test_pad_contract.py).

/** Messages the pad sends. */
export const ClientType = Object.freeze({
  RUN: "run",
  STDIN: "stdin",
  EOF: "eof",
  SIGNAL: "signal",
  RESIZE: "resize",
  JOIN: "join",
});

/** Messages the server sends. */
export const ServerType = Object.freeze({
  STARTED: "started",
  QUEUED: "queued",
  STAGE: "stage",
  STDOUT: "stdout",
  STDERR: "stderr",
  EXIT: "exit",
  ERROR: "error",
  SNAPSHOT: "snapshot",
  PRESENCE: "presence",
  INPUT: "input",
});

/** What a participant of a shared run may do: drivers type and signal, viewers only watch. */
export const Role = Object.freeze({
  DRIVER: "driver",
  VIEWER: "viewer",
});

export const Stage = Object.freeze({
  COMPILE: "compile",
  RUN: "run",
});

export const Verdict = Object.freeze({
  OK: "ok",
  COMPILE_ERROR: "compile_error",
  RUNTIME_ERROR: "runtime_error",
  TIMEOUT: "timeout",
  MEMORY_LIMIT: "memory_limit",
  OUTPUT_LIMIT: "output_limit",
  KILLED: "killed",
});

export const ErrorCode = Object.freeze({
  BAD_REQUEST: "bad_request",
  UNAUTHORIZED: "unauthorized", // no valid API token (HTTP 401)
  FORBIDDEN_ORIGIN: "forbidden_origin", // this page's origin may not open sessions (HTTP 403)
  UNKNOWN_LANGUAGE: "unknown_language",
  LIMIT_EXCEEDED: "limit_exceeded",
  BUSY: "busy",
  INTERNAL: "internal",
  SANDBOX_LOST: "sandbox_lost", // the sandbox went away under the running program: no verdict, run it again
  RUN_LOST: "run_lost", // the cluster node that ran it is gone: no verdict, run it again
  UNAVAILABLE: "unavailable", // the cluster's shared state cannot be reached: try again shortly
});

export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
});

export const Signal = Object.freeze({
  SIGINT: "SIGINT",
  SIGTERM: "SIGTERM",
  SIGKILL: "SIGKILL",
});

/** A WebSocket subprotocol starting with this carries an API token (server/padbox/core/access.py). */
export const TOKEN_SUBPROTOCOL_PREFIX = "padbox.token.";

/** What a close code means to a person, for the codes a browser or the server uses. */
export function describeClose(code) {
  switch (code) {
    case CloseCode.NORMAL:
      return "the server closed the connection";
    case CloseCode.GOING_AWAY:
      return "the server is shutting down";
    case CloseCode.POLICY_VIOLATION:
      return "the server refused a message from the pad (protocol violation)";
    case CloseCode.MESSAGE_TOO_BIG:
      return "a message was too big for the server (is the program or its input very large?)";
    case CloseCode.INTERNAL_ERROR:
      return "the server hit an internal error";
    case CloseCode.TRY_AGAIN_LATER:
      return "the server is busy; try again in a moment";
    case 1006:
      return "the connection was lost";
    default:
      return `the connection closed (code ${code})`;
  }
}

/** The first message of a run: the program as one file named after the language's default file. */
export function runMessage({ language, fileName, content, tty, cols, rows, args = [], stdin = "" }) {
  return {
    type: ClientType.RUN,
    language,
    files: [{ name: fileName, content }],
    args,
    stdin,
    tty,
    cols,
    rows,
  };
}

export const stdinMessage = (data) => ({ type: ClientType.STDIN, data });
export const eofMessage = () => ({ type: ClientType.EOF });
export const signalMessage = (signal) => ({ type: ClientType.SIGNAL, signal });
export const resizeMessage = (cols, rows) => ({ type: ClientType.RESIZE, cols, rows });

/** The first message of a socket that joins a shared run instead of starting one. */
export const joinMessage = (id, key, role) => ({ type: ClientType.JOIN, id, key, role });

/** Parse one text frame from the server; null when it is not a JSON object with a string `type`. */
export function parseServerMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (message === null || typeof message !== "object" || typeof message.type !== "string") return null;
  return message;
}

/** True when an `exit` message ends the whole run: the run stage ended, or a compile failed. */
export function isFinalExit(message) {
  return message.stage === Stage.RUN || message.verdict !== Verdict.OK;
}
