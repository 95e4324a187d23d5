import assert from "node:assert/strict";
import { test } from "node:test";

import * as Y from "yjs";

import {
  addFile,
  deleteFile,
  entryOf,
  fileNameProblem,
  filesOf,
  followRename,
  MAX_FILES,
  metaOf,
  readPad,
  renameFile,
  setEntry,
  setTitle,
  switchLanguage,
  tabOrder,
} from "../src/pad-doc.js";

const PYTHON = { id: "python", file: "main.py", template: 'print("Hello, World!")\n' };
const JS = { id: "javascript", file: "main.js", template: 'console.log("Hello, World!");\n' };

/** A pad as the server lays a new one out. */
function newPad(files = { "main.py": PYTHON.template }, entry = "main.py") {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (const [name, content] of Object.entries(files)) filesOf(doc).set(name, new Y.Text(content));
    metaOf(doc).set("language", "python");
    metaOf(doc).set("entry", entry);
    metaOf(doc).set("title", "Interview");
  });
  return doc;
}

/** Two clients that see each other's updates at once. */
function pair(doc) {
  const other = new Y.Doc();
  Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
  doc.on("update", (u, origin) => origin !== "remote" && Y.applyUpdate(other, u, "remote"));
  other.on("update", (u, origin) => origin !== "remote" && Y.applyUpdate(doc, u, "remote"));
  return other;
}

test("the pad reads as plain values, the file that runs first", () => {
  const doc = newPad({ "b.py": "b", "main.py": "m", "a.py": "a" });
  assert.deepEqual(readPad(doc), {
    files: [
      { name: "main.py", content: "m" },
      { name: "a.py", content: "a" },
      { name: "b.py", content: "b" },
    ],
    language: "python",
    entry: "main.py",
    title: "Interview",
  });
});

test("tabs are in the same order for everyone, whatever order the map's entries arrived in", () => {
  assert.deepEqual(tabOrder(["z.py", "main.py", "a.py"], "main.py"), ["main.py", "a.py", "z.py"]);
  assert.deepEqual(tabOrder(["z.py", "a.py"], "gone.py"), ["a.py", "z.py"]);
});

test("file names follow the server's rule", () => {
  assert.equal(fileNameProblem("src/util.py"), null);
  for (const bad of ["", "/etc/passwd", "../x", "a//b", "./a", "a\\b", "a\0b", "x".repeat(256)]) {
    assert.notEqual(fileNameProblem(bad), null, bad);
  }
});

test("a file added by one person appears for the other, empty and editable", () => {
  const doc = newPad();
  const other = pair(doc);
  assert.equal(addFile(doc, "util.py"), null);
  assert.deepEqual(
    readPad(other).files.map((f) => f.name),
    ["main.py", "util.py"],
  );
  filesOf(other).get("util.py").insert(0, "x = 1");
  assert.equal(filesOf(doc).get("util.py").toString(), "x = 1");
});

test("a name in use or a bad name is refused, and nothing changes", () => {
  const doc = newPad();
  const before = Y.encodeStateAsUpdate(doc);
  assert.match(addFile(doc, "main.py"), /already/);
  assert.match(addFile(doc, "../up.py"), /'\.\.'/);
  assert.deepEqual(Y.encodeStateAsUpdate(doc), before);
});

test("a pad holds at most 64 files", () => {
  const doc = newPad();
  for (let i = 1; i < MAX_FILES; i += 1) assert.equal(addFile(doc, `f${i}.py`), null);
  assert.match(addFile(doc, "one-too-many.py"), /at most 64/);
});

test("renaming keeps the text, and the file that runs follows its new name", () => {
  const doc = newPad({ "main.py": "print(1)", "a.py": "" });
  const other = pair(doc);
  assert.equal(renameFile(doc, "main.py", "app.py"), null);
  assert.deepEqual(readPad(other).files, [
    { name: "app.py", content: "print(1)" },
    { name: "a.py", content: "" },
  ]);
  assert.equal(readPad(other).entry, "app.py");
  assert.match(renameFile(doc, "app.py", "a.py"), /already/);
  assert.match(renameFile(doc, "nope.py", "b.py"), /no file/);
});

test("deleting the file that runs makes another one run; the last file stays", () => {
  const doc = newPad({ "main.py": "", "b.py": "", "a.py": "" });
  assert.equal(deleteFile(doc, "main.py"), null);
  assert.equal(entryOf(doc), "a.py");
  assert.equal(deleteFile(doc, "a.py"), null);
  assert.match(deleteFile(doc, "b.py"), /at least one/);
  assert.equal(entryOf(doc), "b.py");
});

test("any file can be made the one that runs", () => {
  const doc = newPad({ "main.py": "", "other.py": "" });
  assert.equal(setEntry(doc, "other.py"), null);
  assert.equal(readPad(doc).entry, "other.py");
  assert.match(setEntry(doc, "missing.py"), /no file/);
});

test("a title is trimmed and bounded", () => {
  const doc = newPad();
  setTitle(doc, "  Two   sum\n");
  assert.equal(readPad(doc).title, "Two sum");
  setTitle(doc, "x".repeat(500));
  assert.equal(readPad(doc).title.length, 200);
});

test("switching the language of an untouched starter pad brings the new language's starter file", () => {
  const doc = newPad();
  switchLanguage(doc, PYTHON, JS);
  assert.deepEqual(readPad(doc), {
    files: [{ name: "main.js", content: JS.template }],
    language: "javascript",
    entry: "main.js",
    title: "Interview",
  });
});

test("switching the language keeps code someone wrote, under the new language's file name", () => {
  const doc = newPad({ "main.py": "let x = 1" });
  switchLanguage(doc, PYTHON, JS);
  assert.deepEqual(readPad(doc).files, [{ name: "main.js", content: "let x = 1" }]);
  assert.equal(readPad(doc).entry, "main.js");
});

test("switching the language of a pad of several files changes the language only", () => {
  const doc = newPad({ "main.py": "a", "b.py": "b" });
  switchLanguage(doc, PYTHON, JS);
  assert.equal(readPad(doc).language, "javascript");
  assert.deepEqual(
    readPad(doc).files.map((f) => f.name),
    ["main.py", "b.py"],
  );
});

test("a page on a file renamed by someone else follows it to its new name", () => {
  const doc = newPad({ "main.py": "", "util.py": "x" });
  const other = pair(doc);
  let followed = "util.py";
  filesOf(other).observe((event) => {
    followed = followRename(followed, event.changes.keys);
  });
  renameFile(doc, "util.py", "helpers.py");
  assert.equal(followed, "helpers.py");
  addFile(doc, "new.py");
  assert.equal(followed, "helpers.py");
  deleteFile(doc, "helpers.py");
  assert.equal(followed, "helpers.py"); // gone: the page falls back to the file that runs
});
