import assert from "node:assert/strict";
import { test } from "node:test";

import { LineEditor } from "../src/line-editor.js";

function editor() {
  const log = { echo: "", sent: [], eof: 0, interrupt: 0 };
  const ed = new LineEditor({
    echo: (t) => (log.echo += t),
    send: (d) => log.sent.push(d),
    eof: () => (log.eof += 1),
    interrupt: () => (log.interrupt += 1),
  });
  return { ed, log };
}

test("typed characters echo and Enter sends the line with a newline", () => {
  const { ed, log } = editor();
  for (const key of ["A", "d", "a", "\r"]) ed.feed(key);
  assert.equal(log.echo, "Ada\r\n");
  assert.deepEqual(log.sent, ["Ada\n"]);
});

test("backspace erases the last character, on screen and in the line", () => {
  const { ed, log } = editor();
  ed.feed("Adx\x7fa\r");
  assert.equal(log.echo, "Adx\b \ba\r\n");
  assert.deepEqual(log.sent, ["Ada\n"]);
});

test("backspace on an empty line does nothing", () => {
  const { ed, log } = editor();
  ed.feed("\x7f\x7f");
  assert.equal(log.echo, "");
});

test("a pasted block sends one line per newline, CRLF counted once", () => {
  const { ed, log } = editor();
  ed.feed("one\r\ntwo\rthree");
  assert.deepEqual(log.sent, ["one\n", "two\n"]);
  assert.equal(ed.line, "three");
});

test("Ctrl+D sends what was typed, then ends the input", () => {
  const { ed, log } = editor();
  ed.feed("partial\x04");
  assert.deepEqual(log.sent, ["partial"]);
  assert.equal(log.eof, 1);
  ed.feed("\x04");
  assert.deepEqual(log.sent, ["partial"]);
  assert.equal(log.eof, 2);
});

test("Ctrl+C interrupts and drops the half-typed line", () => {
  const { ed, log } = editor();
  ed.feed("abc\x03");
  assert.equal(log.interrupt, 1);
  assert.equal(ed.line, "");
  assert.deepEqual(log.sent, []);
});

test("arrow keys and other escape sequences are ignored", () => {
  const { ed, log } = editor();
  ed.feed("a\x1b[Ab\x1bOCc\x1b[1;5Dd\r");
  assert.deepEqual(log.sent, ["abcd\n"]);
});

test("a character outside the BMP is erased whole", () => {
  const { ed } = editor();
  ed.feed("x😀\x7f");
  assert.equal(ed.line, "x");
});
