import assert from "node:assert/strict";
import { test } from "node:test";
import * as Y from "yjs";

import { addCase, customCases, MAX_CUSTOM_CASES, removeCase, TestRunView } from "../src/pad-tests.js";

test("custom cases live in the document, in the order they were added", () => {
  const doc = new Y.Doc();
  assert.equal(addCase(doc, { name: " first ", stdin: "1\n", expected: "1\n" }, 1), null);
  assert.equal(addCase(doc, { name: "second", stdin: "", expected: "x" }, 2), null);
  assert.deepEqual(
    customCases(doc).map((c) => [c.name, c.stdin, c.expected]),
    [["first", "1\n", "1\n"], ["second", "", "x"]],
  );
  removeCase(doc, customCases(doc)[0].id);
  assert.deepEqual(customCases(doc).map((c) => c.name), ["second"]);
});

test("a case needs a name, and a pad keeps a bounded number", () => {
  const doc = new Y.Doc();
  assert.equal(addCase(doc, { name: "  " }), "Name the case.");
  for (let i = 0; i < MAX_CUSTOM_CASES; i += 1) assert.equal(addCase(doc, { name: `c${i}` }, i), null);
  assert.match(addCase(doc, { name: "one more" }), /at most/);
});

test("a test run's view fills in as results arrive, then shows the summary", () => {
  const view = new TestRunView({ run_id: "r", cases: [{ index: 0, name: "a" }, { index: 1, name: "hidden 2", hidden: true }] });
  assert.equal(view.summary, "running… 0/2");
  view.add({ index: 1, passed: true, verdict: "ok" });
  assert.equal(view.summary, "running… 1/2");
  view.finish({ summary: "1/2 passed" });
  assert.equal(view.summary, "1/2 passed");
});
