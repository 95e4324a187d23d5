import assert from "node:assert/strict";
import { test } from "node:test";

import {
  describeHelp,
  diagnosticsList,
  emptyResult,
  fileOfUri,
  fileUri,
  HelpError,
  HelpState,
  mayAsk,
  stateOfError,
  textHash,
  withHash,
} from "../src/lsp-wire.js";

// The shared vectors: the server's tests hash the same strings (docs/pads.md and the spec's "Hash test vectors").
const VECTORS = [
  ["", "811c9dc5"],
  ["a", "e40c292c"],
  ["foobar", "bf9cf968"],
  ["import os\nos.pa", "651ecf13"],
  ["\u00e9", "6c0b6c44"],
  ["na\u00efve caf\u00e9\r\n", "4d0a60e6"],
  ["x = '\u{1F600}'\n", "d399afad"], // an emoji is two UTF-16 code units, hashed one after the other
  ["\u65e5\u672c\u8a9e\t\u30b3\u30fc\u30c9", "ebeab2a9"],
];

test("the text hash is FNV-1a over UTF-16 code units, as the shared vectors say", () => {
  for (const [text, hash] of VECTORS) assert.equal(textHash(text), hash, JSON.stringify(text));
});

test("the hash is always 8 lowercase hex digits and tells a one-character edit apart", () => {
  for (const text of ["", "x", "print(1)\n".repeat(1000)]) assert.match(textHash(text), /^[0-9a-f]{8}$/);
  assert.notEqual(textHash("os.pa"), textHash("os.pat"));
  assert.notEqual(textHash("ab"), textHash("ba"));
});

test("a request about a document carries the hash of that document's text in this page", () => {
  const texts = { "file:///work/main.py": "import os\nos.pa" };
  const request = {
    jsonrpc: "2.0",
    id: 3,
    method: "textDocument/completion",
    params: { textDocument: { uri: "file:///work/main.py" }, position: { line: 1, character: 5 } },
  };
  const sent = withHash(request, (uri) => texts[uri] ?? null);
  assert.deepEqual(sent.params.padbox, { hash: "651ecf13" });
  assert.deepEqual(sent.params.position, request.params.position);
  assert.equal(request.params.padbox, undefined, "the library's own params object is left alone");
});

test("a message that names no document, or a file gone meanwhile, goes without a hash", () => {
  const initialize = { jsonrpc: "2.0", id: 1, method: "initialize", params: { capabilities: {} } };
  assert.equal(withHash(initialize, () => "x"), initialize);
  const hover = { jsonrpc: "2.0", id: 2, method: "textDocument/hover", params: { textDocument: { uri: "file:///work/gone.py" } } };
  assert.equal(withHash(hover, () => null).params.padbox, undefined);
});

test("file URIs are file:///work/<name>, and only such URIs name a pad file", () => {
  assert.equal(fileUri("main.py"), "file:///work/main.py");
  assert.equal(fileUri("src/util.py"), "file:///work/src/util.py");
  assert.equal(fileUri("my file#1.py"), "file:///work/my%20file%231.py");
  for (const name of ["main.py", "src/util.py", "my file#1.py", "ünï.py"]) assert.equal(fileOfUri(fileUri(name)), name);
  assert.equal(fileOfUri("file:///usr/lib/python3.11/os.py"), null);
  assert.equal(fileOfUri("file:///work/"), null);
  assert.equal(fileOfUri("file:///work/%E0%A4%A"), null);
  assert.equal(fileOfUri(null), null);
});

test("empty answers are the server's: an incomplete empty list, no highlights, else null", () => {
  assert.deepEqual(emptyResult("textDocument/completion"), { isIncomplete: true, items: [] });
  assert.deepEqual(emptyResult("textDocument/documentHighlight"), []);
  for (const method of ["textDocument/hover", "textDocument/signatureHelp", "textDocument/definition", "x/other"]) {
    assert.equal(emptyResult(method), null);
  }
});

test("padbox's refusals tell the pad's state, except the view role's, which tells nothing of the pad", () => {
  assert.equal(stateOfError(HelpError.OFF), HelpState.OFF);
  assert.equal(stateOfError(HelpError.UNAVAILABLE), HelpState.UNAVAILABLE);
  assert.equal(stateOfError(HelpError.UNSUPPORTED), HelpState.UNSUPPORTED);
  assert.equal(stateOfError(HelpError.FORBIDDEN), null);
  assert.equal(stateOfError(-32601), null);
});

test("the page asks questions only while help is on its way or there", () => {
  for (const state of ["idle", "starting", "ready", "restarting"]) assert.equal(mayAsk(state), true, state);
  for (const state of ["connecting", "reconnecting", "off", "unavailable", "unsupported", "nonsense"]) {
    assert.equal(mayAsk(state), false, state);
  }
});

test("every state reads as words, and a language without help is said so, never as an error", () => {
  assert.equal(describeHelp({ state: "ready" }, "Python 3").text, "language help: ready");
  assert.equal(describeHelp({ state: "starting" }, "Python 3").text, "language help: starting…");
  assert.equal(describeHelp({ state: "restarting" }, "C++").text, "language help: restarting…");
  assert.equal(describeHelp({ state: "off" }, "C++").text, "language help: off");
  assert.equal(describeHelp({ state: "unavailable" }, "C++").text, "language help: unavailable, try later");
  assert.equal(describeHelp({ state: "unsupported" }, "Brainfuck").text, "no language help for Brainfuck");
  assert.equal(
    describeHelp({ state: "unsupported", message: "no language help for COBOL" }, "cobol").text,
    "no language help for COBOL",
  );
  assert.equal(describeHelp({ state: "whatever" }, "C").state, "unknown");
  for (const state of Object.values(HelpState)) {
    const words = describeHelp({ state }, "Lua");
    assert.equal(words.state, state);
    assert.ok(words.text && !/error/i.test(words.text), `${state}: ${words.text}`);
  }
});

test("the diagnostics list covers every file in tab order, lines from 1, and leaves out strangers", () => {
  const range = (line, character) => ({ start: { line, character }, end: { line, character: character + 1 } });
  const byUri = new Map([
    [fileUri("util.py"), [{ range: range(4, 2), severity: 2, message: "unused import", source: "pyflakes" }]],
    [
      fileUri("main.py"),
      [
        { range: range(7, 0), message: "undefined name 'x'" },
        { range: range(1, 3), severity: 1, message: "invalid syntax" },
      ],
    ],
    ["file:///usr/lib/python3/os.py", [{ range: range(0, 0), message: "not ours" }]],
    [fileUri("deleted.py"), [{ range: range(0, 0), message: "file gone" }]],
  ]);
  assert.deepEqual(diagnosticsList(byUri, ["main.py", "util.py"]), [
    { file: "main.py", line: 2, character: 3, severity: "error", message: "invalid syntax", source: "" },
    { file: "main.py", line: 8, character: 0, severity: "error", message: "undefined name 'x'", source: "" },
    { file: "util.py", line: 5, character: 2, severity: "warning", message: "unused import", source: "pyflakes" },
  ]);
});
