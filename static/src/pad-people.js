// The people on a pad: display names, colours, and the presence list read from Yjs awareness states
// ({user: {name, color, colorLight, role}, cursor}). Pure: test/pad-people.test.js.

/** Cursor colours that read on light and dark backgrounds alike. */
export const PALETTE = Object.freeze([
  "#d1242f",
  "#0969da",
  "#1a7f37",
  "#8250df",
  "#bf5700",
  "#0a7b83",
  "#cf5aa0",
  "#6e7781",
]);

export const MAX_NAME = 64; // the server keeps at most this much of a name (pads/model.py)

/** A name as the server will record it: whitespace collapsed, bounded; "" when nothing is left. */
export function cleanName(raw) {
  return String(raw || "")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ")
    .slice(0, MAX_NAME);
}

/** A colour for a name, the same on every visit. */
export function colourFor(name) {
  let hash = 0;
  for (const char of String(name)) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

/** The awareness `user` field: y-codemirror.next labels remote cursors with `name` in `color`. */
export function awarenessUser({ name, colour, role }) {
  return { name, color: colour, colorLight: `${colour}33`, role };
}

/**
 * Who is on the pad, from awareness states (a Map of client id -> state): one entry per person with a name,
 * you first, then by name. Someone with two tabs open is listed twice, as their cursors are.
 */
export function presenceList(states, selfId) {
  const people = [];
  for (const [clientId, state] of states) {
    const user = state && typeof state === "object" ? state.user : null;
    if (!user || typeof user.name !== "string" || !user.name) continue;
    people.push({
      clientId,
      name: user.name,
      colour: typeof user.color === "string" ? user.color : PALETTE[0],
      role: typeof user.role === "string" ? user.role : "",
      self: clientId === selfId,
    });
  }
  return people.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name) || a.clientId - b.clientId);
}
