// API tokens, for a server started with PADBOX_TOKENS. A person opens the pad once as /?token=...
// (or types the token when asked); the pad remembers it and takes it out of the address bar.
// Browsers cannot set headers on a WebSocket, so the token travels as a subprotocol there.

import { TOKEN_SUBPROTOCOL_PREFIX } from "./protocol.js";
import * as store from "./store.js";

// What a WebSocket subprotocol may contain (RFC 6455: an HTTP token); anything else goes in the query.
const SUBPROTOCOL_SAFE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Move a `?token=` from the page's address into storage; return the token in force, or null. */
export function adoptTokenFromAddress() {
  const url = new URL(location.href);
  const token = url.searchParams.get("token");
  if (token) {
    store.saveToken(token);
    url.searchParams.delete("token");
    history.replaceState(history.state, "", url);
  }
  return store.loadToken();
}

/** Headers for the HTTP API. */
export function apiHeaders() {
  const token = store.loadToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Open the run socket at `url`, carrying the token if there is one. */
export function openSocket(url) {
  const token = store.loadToken();
  if (!token) return new WebSocket(url);
  if (SUBPROTOCOL_SAFE.test(token)) return new WebSocket(url, [TOKEN_SUBPROTOCOL_PREFIX + token]);
  return new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
}

/** True when the server's refusal is about the token (it says so in words: there is no code of its own). */
export function isTokenRefusal(message) {
  return typeof message === "string" && /\btoken\b/i.test(message);
}
