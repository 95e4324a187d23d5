import assert from "node:assert/strict";
import { test } from "node:test";

import { bestMatch, groupLanguages, matchesSearch, optionLabel } from "../src/language-list.js";

const LANGUAGES = [
  { id: "python", name: "Python", version: "3.11.2", group: "Scripting", aliases: ["py", "python3"] },
  { id: "c-clang", name: "C (Clang)", version: "14.0.6", group: "C family and systems", aliases: ["clang"] },
  { id: "c", name: "C", version: "12.2.0", group: "C family and systems", aliases: ["gcc", "c"] },
  { id: "bash", name: "Bash", version: "5.2", group: "Shells", aliases: ["sh"] },
  { id: "mystery", name: "Mystery", version: "" },
];

test("languages are grouped by family, families alphabetically with Other last, names sorted within", () => {
  const groups = groupLanguages(LANGUAGES);
  assert.deepEqual(
    groups.map((g) => g.group),
    ["C family and systems", "Scripting", "Shells", "Other"],
  );
  assert.deepEqual(
    groups[0].languages.map((l) => l.id),
    ["c", "c-clang"],
  );
});

test("a search matches names, ids, aliases and the family, every word, in any case", () => {
  const found = (query) => LANGUAGES.filter((l) => matchesSearch(l, query)).map((l) => l.id);
  assert.deepEqual(found("clang"), ["c-clang"]);
  assert.deepEqual(found("PY"), ["python"]);
  assert.deepEqual(found("c family"), ["c-clang", "c"]);
  assert.deepEqual(found("shells"), ["bash"]);
  assert.deepEqual(found(""), LANGUAGES.map((l) => l.id));
  assert.deepEqual(found("cobol"), []);
});

test("Enter picks an exact name first, else the first match in the picker's order", () => {
  assert.equal(bestMatch(LANGUAGES, "c").id, "c");
  assert.equal(bestMatch(LANGUAGES, "gcc").id, "c");
  assert.equal(bestMatch(LANGUAGES, "cla").id, "c-clang");
  assert.equal(bestMatch(LANGUAGES, "  "), null);
  assert.equal(bestMatch(LANGUAGES, "nothing like it"), null);
});

test("an option shows the name and the version", () => {
  assert.equal(optionLabel(LANGUAGES[0]), "Python 3.11.2");
  assert.equal(optionLabel({ id: "x" }), "x");
});
