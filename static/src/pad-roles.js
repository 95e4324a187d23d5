// What each role may do on a pad's page. The server enforces every one of these (docs/pads.md); the page only
// offers what will be accepted, so nobody presses a button to be refused. Pure: test/pad-roles.test.js.

import { Role } from "./protocol.js";

/** A pad key's role, as the server names it. */
export const PadRole = Object.freeze({
  OWNER: "owner",
  EDIT: "edit",
  VIEW: "view",
});

/**
 * The page's capabilities for `role` on a pad that has `ended` or not:
 *   edit      type into the code, add, rename and delete files, switch the language, retitle
 *   run       press Run (and Ctrl/Cmd+Enter)
 *   drive     type into the pad's runs and stop them; else the terminal only shows them
 *   runRole   the role this page takes when it joins the pad's runs on /ws
 *   end, links, notes, playback, export   the owner's tools (playback and export stay after the end)
 */
export function capabilities(role, { ended = false } = {}) {
  const known = Object.values(PadRole).includes(role);
  const writer = known && role !== PadRole.VIEW;
  const owner = role === PadRole.OWNER;
  return Object.freeze({
    edit: writer && !ended,
    run: writer && !ended,
    drive: writer,
    runRole: writer ? Role.DRIVER : Role.VIEWER,
    end: owner && !ended,
    links: owner && !ended,
    notes: owner,
    playback: owner,
    export: owner,
  });
}

/** How the page names a role to a person. */
export function roleLabel(role) {
  switch (role) {
    case PadRole.OWNER:
      return "owner";
    case PadRole.EDIT:
      return "editor";
    case PadRole.VIEW:
      return "viewer";
    default:
      return String(role || "");
  }
}

/** One line that says what this page may do. */
export function roleHint(role, { ended = false } = {}) {
  if (ended) return "This pad has ended: everything is read-only. The owner can still replay and export it.";
  switch (role) {
    case PadRole.OWNER:
      return "You own this pad: edit, run, send links, keep private notes, replay it, end it.";
    case PadRole.EDIT:
      return "You can edit the code, run it and answer its prompts.";
    case PadRole.VIEW:
      return "You are watching: you see the code, the cursors and the runs, and cannot change anything.";
    default:
      return "";
  }
}
