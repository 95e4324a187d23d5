import assert from "node:assert/strict";
import { test } from "node:test";

import { capabilities, PadRole, roleHint, roleLabel } from "../src/pad-roles.js";

test("an owner may do everything while the pad is open", () => {
  const can = capabilities(PadRole.OWNER);
  assert.deepEqual({ ...can }, {
    edit: true,
    run: true,
    drive: true,
    runRole: "driver",
    end: true,
    links: true,
    notes: true,
    playback: true,
    export: true,
  });
});

test("an editor edits, runs and drives runs, and has none of the owner's tools", () => {
  const can = capabilities(PadRole.EDIT);
  assert.equal(can.edit, true);
  assert.equal(can.run, true);
  assert.equal(can.drive, true);
  assert.equal(can.runRole, "driver");
  for (const tool of ["end", "links", "notes", "playback", "export"]) assert.equal(can[tool], false, tool);
});

test("a viewer watches runs as a viewer and can change nothing", () => {
  const can = capabilities(PadRole.VIEW);
  assert.equal(can.runRole, "viewer");
  for (const power of ["edit", "run", "drive", "end", "links", "notes", "playback", "export"]) {
    assert.equal(can[power], false, power);
  }
});

test("an ended pad is read-only for everyone; the owner keeps notes, playback and export", () => {
  for (const role of Object.values(PadRole)) {
    const can = capabilities(role, { ended: true });
    assert.equal(can.edit, false);
    assert.equal(can.run, false);
    assert.equal(can.end, false);
    assert.equal(can.links, false);
  }
  const owner = capabilities(PadRole.OWNER, { ended: true });
  assert.equal(owner.playback && owner.export && owner.notes, true);
});

test("an unknown role gets a viewer's powers", () => {
  assert.equal(capabilities("admin").edit, false);
  assert.equal(capabilities(undefined).runRole, "viewer");
});

test("roles are named for people", () => {
  assert.equal(roleLabel(PadRole.EDIT), "editor");
  assert.match(roleHint(PadRole.VIEW), /cannot change anything/);
  assert.match(roleHint(PadRole.EDIT, { ended: true }), /read-only/);
});
