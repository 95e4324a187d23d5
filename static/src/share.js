// Share links and the words around shared runs. Pure: unit-tested in test/share.test.js.
//
// A shared run is reached at the pad's own address with the run in the fragment, which browsers never send
// to a server (so the key stays out of access logs):
//   #join=<run id>.<driver key>   drive: see the code and terminal, type into the program, stop it
//   #watch=<run id>.<viewer key>  watch: see the code and terminal only
// `#join=<id>.<key>&role=viewer` is read as a watch link too. The two links carry different keys, and the
// server refuses to let the viewer key drive, so a watch link cannot be edited into a driving one.

import { Role } from "./protocol.js";

const ROLE_BY_WORD = Object.freeze({ join: Role.DRIVER, watch: Role.VIEWER });
const WORD_BY_ROLE = Object.freeze({ [Role.DRIVER]: "join", [Role.VIEWER]: "watch" });
// Run ids are hex, share keys URL-safe base64: neither holds a dot, so one dot splits them.
const PART = /^[A-Za-z0-9_-]+$/;

/**
 * The links to run `id` for each role whose key is in `keys` ({driver?, viewer?}), on the pad at `base`
 * (origin and path, no fragment): a viewer holds only the viewer key, so it can pass on only a watch link.
 */
export function shareLinks(base, id, keys) {
  const links = {};
  for (const role of [Role.DRIVER, Role.VIEWER]) {
    if (keys[role]) links[role] = `${base}#${WORD_BY_ROLE[role]}=${id}.${keys[role]}`;
  }
  return links;
}

/**
 * Read a page's fragment (`location.hash`): null when it is no share link at all, {id, key, role} for a
 * well-formed one, {error} for one that is damaged (cut short when pasted, most often).
 */
export function parseShareHash(hash) {
  const fragment = String(hash || "").replace(/^#/, "");
  if (!fragment) return null;
  let params;
  try {
    params = new URLSearchParams(fragment);
  } catch {
    return null;
  }
  const word = Object.keys(ROLE_BY_WORD).find((w) => params.has(w));
  if (!word) return null;
  const value = (params.get(word) || "").trim();
  const dot = value.indexOf(".");
  const id = dot > 0 ? value.slice(0, dot) : "";
  const key = dot > 0 ? value.slice(dot + 1) : "";
  if (!PART.test(id) || !PART.test(key)) {
    return { error: "This share link is incomplete or damaged: it should end in #join= or #watch= followed by the run's id, a dot and its key." };
  }
  const role = params.get("role") === Role.VIEWER ? Role.VIEWER : ROLE_BY_WORD[word];
  return { id, key, role };
}

const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Who is on a shared run, you included: "2 drivers, 1 viewer". */
export function presenceLabel({ drivers, viewers }) {
  return `${count(drivers, "driver")}, ${count(viewers, "viewer")}`;
}

/** True when nobody is left who may type: the server then stops the run after a short grace. */
export function driverless({ drivers }) {
  return drivers === 0;
}
