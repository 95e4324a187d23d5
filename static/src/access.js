// API tokens, for a server started with PADBOX_TOKENS. A person opens the pad once as /?token=...
// (or types the token when asked); the pad remembers it and takes it out of the address bar.
// Browsers cannot set headers on a WebSocket, so the token travels as a subprotocol there.
// The server refuses by code (unauthorized: no valid token; forbidden_origin: this page's origin may not use it),
// and the pad decides by the code alone, never by the words.

import { ErrorCode, TOKEN_SUBPROTOCOL_PREFIX } from "./protocol.js";
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

/**
 * How a socket opened by a library (y-websocket) carries the token: {protocols, params} to hand it, both empty
 * without a token. `withToken(url)` does the same for a URL that already has a query.
 */
export function socketCredentials() {
  const token = store.loadToken();
  if (!token) return { protocols: [], params: {} };
  if (SUBPROTOCOL_SAFE.test(token)) return { protocols: [TOKEN_SUBPROTOCOL_PREFIX + token], params: {} };
  return { protocols: [], params: { token } };
}

/** Open a socket at `url` (which may have a query already), carrying the token if there is one. */
export function openSocketWithQuery(url) {
  const { protocols, params } = socketCredentials();
  const extra = params.token ? `${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(params.token)}` : "";
  return new WebSocket(url + extra, protocols);
}

/**
 * Which access refusal an HTTP answer is: the code in its body when it names one, else what its status means
 * (401 unauthorized, 403 forbidden_origin, as the server maps them); null for any other answer.
 */
export function refusalCode(status, body) {
  const code = body !== null && typeof body === "object" ? body.code : undefined;
  if (code === ErrorCode.UNAUTHORIZED || code === ErrorCode.FORBIDDEN_ORIGIN) return code;
  if (status === 401) return ErrorCode.UNAUTHORIZED;
  if (status === 403) return ErrorCode.FORBIDDEN_ORIGIN;
  return null;
}

export const TOKEN_NEEDED = "This padbox server needs an API token. Enter it to continue (the pad remembers it).";

/**
 * What to tell a person the server refused for `code` ({text, status, askToken}), or null when the code is not
 * about access. `origin` is this page's origin.
 */
export function describeRefusal(code, origin) {
  if (code === ErrorCode.UNAUTHORIZED) return { text: TOKEN_NEEDED, status: "token needed", askToken: true };
  if (code === ErrorCode.FORBIDDEN_ORIGIN) {
    return {
      // Nothing the person types fixes this: only the server's operator can.
      text:
        `This page's origin, ${origin}, may not use this padbox server: ` +
        "its operator can allow it in PADBOX_ALLOWED_ORIGINS, or open the pad from the server's own address.",
      status: "origin refused",
      askToken: false,
    };
  }
  return null;
}
