// The embed page's postMessage API (docs/embed.md), as pure rules: the path, the allowed origins, reading a
// command, building an event. No DOM: test/embed-api.test.js. embed.js wires these to the window.
//
// Every message either way is an object {padbox: 1, type, ...}. The page answers only its parent window, and only
// when the parent's origin is one the server allows to frame it (PADBOX_EMBED_ORIGINS, handed to the page in a
// <meta> element); events go to those origins by name, never to "*", so a page that navigated the frame's parent
// elsewhere reads nothing.

export const EMBED_VERSION = 1;

/** Events, page -> embedder. */
export const EmbedEvent = Object.freeze({
  READY: "ready",
  RUN_STARTED: "run_started",
  RUN_FINISHED: "run_finished",
  TESTS_FINISHED: "tests_finished",
  LANGUAGE_CHANGED: "language_changed",
  PAD_ENDED: "pad_ended",
  ERROR: "error",
});

/** Commands, embedder -> page. */
export const EmbedCommand = Object.freeze({
  RUN: "run",
  STOP: "stop",
  SET_LANGUAGE: "set_language",
});

/** The `code` of an `error` event. */
export const EmbedError = Object.freeze({
  BAD_MESSAGE: "bad_message", // not an object with padbox and type
  UNSUPPORTED_VERSION: "unsupported_version",
  UNKNOWN_COMMAND: "unknown_command",
  NOT_READY: "not_ready", // before the `ready` event
  FORBIDDEN: "forbidden", // this key's role may not (a view key cannot run)
  NOT_RUNNING: "not_running", // stop with no run going
  UNKNOWN_LANGUAGE: "unknown_language",
  REFUSED: "refused", // the server refused (its message says why)
});

const EMBED_PATH = /^\/embed(\/p\/[^/]+\/?)$/;
const MAX_ID = 200;

/** True on the embed page's path, /embed/p/<id>. */
export function isEmbedPath(pathname) {
  return EMBED_PATH.test(String(pathname || ""));
}

/** The pad path (/p/<id>) an embed path stands for; any other path unchanged. */
export function padPathOf(pathname) {
  const match = EMBED_PATH.exec(String(pathname || ""));
  return match ? match[1] : pathname;
}

/** The allowed embedder origins from the <meta> element's content (space-separated); none when absent. */
export function readOrigins(content) {
  return String(content || "")
    .split(/\s+/)
    .filter((origin) => /^https?:\/\/[^\s/]+$/.test(origin));
}

/** Whether a message from `origin` may be answered: only an exact, listed origin ("null" never is). */
export function isAllowedOrigin(origin, allowed) {
  return typeof origin === "string" && origin !== "null" && allowed.includes(origin);
}

/** An event to post: {padbox: 1, type, ...fields}. */
export function eventMessage(type, fields = {}) {
  return { ...fields, padbox: EMBED_VERSION, type };
}

/** An `error` event about `command` (its `id` echoed when it had one, so a caller can match answers). */
export function errorMessage(code, message, command = null) {
  const fields = { code, message };
  if (command?.type) fields.command = command.type;
  if (command?.id !== undefined) fields.id = command.id;
  return eventMessage(EmbedEvent.ERROR, fields);
}

/**
 * Read a message's data as a command: {command} for a well-formed one ({type, id?, language?}), else {error} (an
 * `error` event to send back). Never throws, whatever the data.
 */
export function readCommand(data) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { error: errorMessage(EmbedError.BAD_MESSAGE, "a command is an object {padbox: 1, type, ...}") };
  }
  const id = typeof data.id === "string" || Number.isFinite(data.id) ? data.id : undefined;
  if (typeof data.id === "string" && data.id.length > MAX_ID) {
    return { error: errorMessage(EmbedError.BAD_MESSAGE, `id is at most ${MAX_ID} characters`) };
  }
  const type = typeof data.type === "string" ? data.type : "";
  const about = { type: type || undefined, id };
  if (data.padbox !== EMBED_VERSION) {
    return {
      error: errorMessage(
        EmbedError.UNSUPPORTED_VERSION,
        `this pad speaks version ${EMBED_VERSION} of the embed API: send padbox: ${EMBED_VERSION}`,
        about,
      ),
    };
  }
  switch (type) {
    case EmbedCommand.RUN:
    case EmbedCommand.STOP:
      return { command: { type, id } };
    case EmbedCommand.SET_LANGUAGE:
      if (typeof data.language !== "string" || data.language === "") {
        return { error: errorMessage(EmbedError.BAD_MESSAGE, "set_language needs a language id", about) };
      }
      return { command: { type, id, language: data.language } };
    default: {
      const known = Object.values(EmbedCommand).join(", ");
      const name = type ? `unknown command ${JSON.stringify(type.slice(0, 40))}` : "a command needs a type";
      return { error: errorMessage(EmbedError.UNKNOWN_COMMAND, `${name}: the commands are ${known}`, about) };
    }
  }
}

/**
 * Where to post events. When the browser names the parent's origin (location.ancestorOrigins: Chromium, Safari),
 * there alone if it is allowed, else nowhere; otherwise each allowed origin by name (the browser delivers to the one
 * the parent has and drops the rest).
 */
export function eventTargets(allowed, ancestorOrigin) {
  if (ancestorOrigin) return allowed.includes(ancestorOrigin) ? [ancestorOrigin] : [];
  return [...allowed];
}
