// The language-help socket's rules as the page reads them (the shared contract, docs/pads.md "Language help"):
// the text hash a request carries, the files' URIs, the empty answers, padbox's error codes and what each state
// says to a person. Pure values and functions: tested in test/lsp-wire.test.js against fixed vectors, which the
// server's tests share.

/** The states `padbox/state` announces; `connecting` and `reconnecting` are the page's own, before an answer. */
export const HelpState = Object.freeze({
  CONNECTING: "connecting",
  RECONNECTING: "reconnecting",
  IDLE: "idle",
  STARTING: "starting",
  READY: "ready",
  RESTARTING: "restarting",
  OFF: "off",
  UNAVAILABLE: "unavailable",
  UNSUPPORTED: "unsupported",
});

/** States in which the page asks questions; in the others it asks nothing, and the editor is a plain editor. */
const ASKING = new Set([HelpState.IDLE, HelpState.STARTING, HelpState.READY, HelpState.RESTARTING]);

export const mayAsk = (state) => ASKING.has(state);

/** padbox's JSON-RPC error codes (the socket stays open): the state each one reveals. */
export const HelpError = Object.freeze({
  FORBIDDEN: -32001, // the view role asked for more than hover
  OFF: -32002,
  UNAVAILABLE: -32003,
  UNSUPPORTED: -32004,
});

const ERROR_STATES = new Map([
  [HelpError.OFF, HelpState.OFF],
  [HelpError.UNAVAILABLE, HelpState.UNAVAILABLE],
  [HelpError.UNSUPPORTED, HelpState.UNSUPPORTED],
]);

/** The state a padbox error code says the pad is in, or null (a forbidden request says nothing of the pad). */
export const stateOfError = (code) => ERROR_STATES.get(code) ?? null;

/** The requests whose `params` carry `padbox: {hash}`: each names a document and a position in it. */
export const HASHED_METHODS = new Set([
  "textDocument/completion",
  "textDocument/hover",
  "textDocument/signatureHelp",
  "textDocument/definition",
  "textDocument/documentHighlight",
]);

/**
 * What a request is answered when nothing better can be said: the server's own empty answers for a stale text,
 * which the page also gives itself while the socket is down or help is off. Null for any other method.
 */
export function emptyResult(method) {
  switch (method) {
    case "textDocument/completion":
      return { isIncomplete: true, items: [] };
    case "textDocument/documentHighlight":
      return [];
    default:
      return null;
  }
}

/**
 * FNV-1a, 32 bits, over the UTF-16 code units of `text`, as 8 lowercase hex digits: how a request says which
 * text its positions refer to. UTF-16 because that is what both a JavaScript string and LSP's positions count.
 */
export function textHash(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

const ROOT = "file:///work/";

/** A pad file's document URI: `file:///work/<name>`, each part of the name percent-encoded as in any file URI. */
export function fileUri(name) {
  return ROOT + String(name).split("/").map(encodeURIComponent).join("/");
}

/** The pad file a URI names, or null when it names none (another folder, a library's source). */
export function fileOfUri(uri) {
  if (typeof uri !== "string" || !uri.startsWith(ROOT)) return null;
  try {
    const name = decodeURIComponent(uri.slice(ROOT.length));
    return name ? name : null;
  } catch {
    return null;
  }
}

/** `params.padbox` for a request: the hash of the text its document had when it was made. */
export function withHash(message, getText) {
  if (!HASHED_METHODS.has(message.method) || !message.params || typeof message.params !== "object") return message;
  const uri = message.params.textDocument?.uri;
  const text = typeof uri === "string" ? getText(uri) : null;
  if (typeof text !== "string") return message; // a file gone meanwhile: the server answers empty
  return { ...message, params: { ...message.params, padbox: { hash: textHash(text) } } };
}

/**
 * What the indicator says in `state` ({state, language, message} from `padbox/state`, or the page's own
 * connecting states): {state, text, title}. `languageName` is the pad's language as people know it.
 */
export function describeHelp({ state, message = "" }, languageName) {
  const name = languageName || "this language";
  switch (state) {
    case HelpState.CONNECTING:
      return { state, text: "language help: connecting…", title: "Reaching the language-help socket." };
    case HelpState.RECONNECTING:
      return { state, text: "language help: reconnecting…", title: "The connection dropped; typing goes on meanwhile." };
    case HelpState.IDLE:
      return {
        state,
        text: "language help: on",
        title: `The ${name} language server starts when someone who may edit comes to the editor.`,
      };
    case HelpState.STARTING:
      return { state, text: "language help: starting…", title: `The ${name} language server is starting.` };
    case HelpState.READY:
      return {
        state,
        text: "language help: ready",
        title: "Completion, hover, signatures, diagnostics; F12 or Ctrl+click goes to a definition.",
      };
    case HelpState.RESTARTING:
      return { state, text: "language help: restarting…", title: message || "The language server stopped; it is coming back." };
    case HelpState.OFF:
      return { state, text: "language help: off", title: "The owner turned language help off for this pad." };
    case HelpState.UNAVAILABLE:
      return { state, text: "language help: unavailable, try later", title: message || "The server has no room for it now." };
    case HelpState.UNSUPPORTED:
      return { state, text: message || `no language help for ${name}`, title: `padbox has no language server for ${name}.` };
    default:
      return { state: "unknown", text: "language help", title: message || "" };
  }
}

/** A diagnostic's severity as a word (LSP: 1 error, 2 warning, 3 information, 4 hint; absent means error). */
export function severityName(severity) {
  return ["error", "error", "warning", "info", "hint"][severity] ?? "error";
}

/**
 * Every file's diagnostics as one list for the page: [{file, line, character, severity, message, source}], lines
 * counted from 1, in tab order of `files` (names) and then by position. Files not among `files` are left out.
 * `byUri` maps a URI to the diagnostics last published for it.
 */
export function diagnosticsList(byUri, files) {
  const rows = [];
  for (const [uri, diagnostics] of byUri) {
    const file = fileOfUri(uri);
    if (file === null || !files.includes(file)) continue;
    for (const d of diagnostics) {
      const start = d?.range?.start ?? { line: 0, character: 0 };
      rows.push({
        file,
        line: (Number(start.line) || 0) + 1,
        character: Number(start.character) || 0,
        severity: severityName(d.severity),
        message: String(d.message ?? ""),
        source: typeof d.source === "string" ? d.source : "",
      });
    }
  }
  const order = (file) => files.indexOf(file);
  return rows.sort((a, b) => order(a.file) - order(b.file) || a.line - b.line || a.character - b.character);
}
