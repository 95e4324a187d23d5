import assert from "node:assert/strict";
import { test } from "node:test";

import { indentFor, supportLoader } from "../src/languages.js";

const lang = (id, file, aliases = []) => ({ id, file, aliases });

test("the languages the issue names all get highlighting", () => {
  const named = [
    lang("python", "main.py"), lang("javascript", "main.js"), lang("c", "main.c"), lang("cpp", "main.cpp"),
    lang("bash", "main.sh"), lang("java", "Main.java"), lang("go", "main.go"), lang("rust", "main.rs"),
    lang("ruby", "main.rb"), lang("php", "main.php"),
  ];
  for (const l of named) assert.ok(supportLoader(l), l.id);
});

test("an unfamiliar id is matched by an alias, then by the file extension", () => {
  assert.ok(supportLoader(lang("python-3.12", "x", ["py"])));
  assert.ok(supportLoader(lang("cpython", "main.py")));
});

test("a language the pad does not know falls back to plain text", () => {
  assert.equal(supportLoader(lang("whitespace", "main.ws")), null);
  assert.equal(supportLoader(lang("toString", "constructor")), null);
});

test("go indents with tabs, python with four spaces", () => {
  assert.equal(indentFor(lang("go", "main.go")), "\t");
  assert.equal(indentFor(lang("python", "main.py")), "    ");
});
