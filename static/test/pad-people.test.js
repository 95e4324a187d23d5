import assert from "node:assert/strict";
import { test } from "node:test";

import { awarenessUser, cleanName, colourFor, PALETTE, presenceList } from "../src/pad-people.js";

test("a name is trimmed and bounded as the server records it", () => {
  assert.equal(cleanName("  Ada   Lovelace \n"), "Ada Lovelace");
  assert.equal(cleanName("x".repeat(100)).length, 64);
  assert.equal(cleanName(null), "");
});

test("a name always gets the same colour, from the palette", () => {
  assert.equal(colourFor("Ada"), colourFor("Ada"));
  assert.ok(PALETTE.includes(colourFor("Grace")));
});

test("the awareness user carries what y-codemirror.next labels cursors with", () => {
  assert.deepEqual(awarenessUser({ name: "Ada", colour: "#d1242f", role: "edit" }), {
    name: "Ada",
    color: "#d1242f",
    colorLight: "#d1242f33",
    role: "edit",
  });
});

test("the presence list puts you first, then everyone by name; states without a name are left out", () => {
  const states = new Map([
    [3, { user: { name: "Zed", color: "#111", role: "view" } }],
    [1, { user: { name: "Me", color: "#222", role: "owner" } }],
    [2, { user: { name: "Ada", color: "#333", role: "edit" }, cursor: null }],
    [4, {}],
    [5, null],
  ]);
  assert.deepEqual(
    presenceList(states, 1).map((p) => [p.name, p.role, p.self]),
    [
      ["Me", "owner", true],
      ["Ada", "edit", false],
      ["Zed", "view", false],
    ],
  );
});
