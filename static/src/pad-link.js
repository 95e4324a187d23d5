// Pad addresses and the addresses a pad page talks to. Pure: unit-tested in test/pad-link.test.js.
//
// A pad is reached at /p/<id>#key=<key> (docs/pads.md): the key rides in the fragment, which a browser never
// sends to a server, so it stays out of access logs and Referer headers. The page sends it as `?key=` itself.

const PAD_PATH = /^\/p\/([^/]+)\/?$/;
// Pad ids and keys are secrets.token_urlsafe: URL-safe base64 without padding.
const PART = /^[A-Za-z0-9_-]+$/;

export const DAMAGED_LINK =
  "This pad link is incomplete or damaged: it should end in #key= followed by the pad's key. Ask for the link again.";

/**
 * Read a page's path and fragment: null when the path is no pad's, {id, key} for a well-formed pad link,
 * {id, error} for a pad path whose key is missing or damaged (cut short when pasted, most often).
 */
export function parsePadAddress(pathname, hash) {
  const match = PAD_PATH.exec(String(pathname || ""));
  if (!match) return null;
  let id;
  try {
    id = decodeURIComponent(match[1]);
  } catch {
    return { id: "", error: DAMAGED_LINK };
  }
  if (!PART.test(id)) return { id: "", error: DAMAGED_LINK };
  const params = new URLSearchParams(String(hash || "").replace(/^#/, ""));
  const key = (params.get("key") || "").trim();
  if (!PART.test(key)) return { id, error: DAMAGED_LINK };
  return { id, key };
}

/** The link to pad `id` with `key` on the server at `origin`. */
export function padLink(origin, id, key) {
  return `${origin}/p/${encodeURIComponent(id)}#key=${encodeURIComponent(key)}`;
}

/** The pad's key from a link the server made (`.../p/<id>#key=<key>`), or null. */
export function keyOfLink(link) {
  try {
    const url = new URL(link);
    const parsed = parsePadAddress(url.pathname, url.hash);
    return parsed && !parsed.error ? parsed.key : null;
  } catch {
    return null;
  }
}

/** Where the pad API is: `/api/v1/pads/<id>[/<what>]?key=<key>`. */
export function padApi(id, key, what = "") {
  const path = `/api/v1/pads/${encodeURIComponent(id)}${what ? `/${what}` : ""}`;
  return `${path}?key=${encodeURIComponent(key)}`;
}

/** The ws:// or wss:// origin for a page at `protocol` and `host`. */
export function socketOrigin(protocol, host) {
  return (protocol === "https:" ? "wss://" : "ws://") + host;
}

/** The pad's events socket: `/ws/pads/<id>/events?key=..&name=..`. */
export function eventsUrl(wsOrigin, id, key, name) {
  const params = new URLSearchParams({ key });
  if (name) params.set("name", name);
  return `${wsOrigin}/ws/pads/${encodeURIComponent(id)}/events?${params}`;
}

/** The pad's language-help socket: `/ws/pads/<id>/lsp?key=..&name=..`. */
export function lspUrl(wsOrigin, id, key, name) {
  const params = new URLSearchParams({ key });
  if (name) params.set("name", name);
  return `${wsOrigin}/ws/pads/${encodeURIComponent(id)}/lsp?${params}`;
}

/** What y-websocket's WebsocketProvider needs to reach `/ws/pads/<id>?key=..&name=..`. */
export function yjsSocket(wsOrigin, id, key, name) {
  const params = { key };
  if (name) params.name = name;
  return { serverUrl: `${wsOrigin}/ws/pads`, room: id, params };
}
