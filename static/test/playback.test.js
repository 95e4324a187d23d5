import assert from "node:assert/strict";
import { test } from "node:test";

import * as Y from "yjs";

import { filesOf, metaOf } from "../src/pad-doc.js";
import { describeStep, describeTestRun, Playback, plainOutput, stepOfTime } from "../src/playback.js";

const b64 = (bytes) => Buffer.from(bytes).toString("base64");

/** A history as the server records it: each keystroke one update, with its time and author. */
function typedHistory(text) {
  const doc = new Y.Doc();
  const updates = [];
  let at = 1000;
  const author = { name: "Ada", role: "edit" };
  doc.on("update", (update) => updates.push({ seq: updates.length, at: (at += 1), author, update: b64(update) }));
  doc.transact(() => {
    filesOf(doc).set("main.py", new Y.Text(""));
    metaOf(doc).set("language", "python");
    metaOf(doc).set("entry", "main.py");
    metaOf(doc).set("title", "T");
  });
  const ytext = filesOf(doc).get("main.py");
  for (const char of text) ytext.insert(ytext.length, char);
  return { updates, doc };
}

test("each step shows the code as it stood then, keystroke by keystroke", () => {
  const { updates } = typedHistory("abc");
  const playback = new Playback({ updates, runs: [] });
  assert.equal(playback.length, 4);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => playback.padAt(i).files[0].content),
    ["", "a", "ab", "abc"],
  );
});

test("going back rebuilds from the start, going forward goes on from where it was", () => {
  const { updates } = typedHistory("hello");
  const playback = new Playback({ updates, runs: [] });
  assert.equal(playback.padAt(5).files[0].content, "hello");
  assert.equal(playback.padAt(2).files[0].content, "he");
  assert.equal(playback.padAt(3).files[0].content, "hel");
  assert.equal(playback.padAt(99).files[0].content, "hello");
  assert.deepEqual(playback.padAt(-1).files, []);
});

test("updates are replayed in seq order, whatever order they came in", () => {
  const { updates } = typedHistory("xy");
  const playback = new Playback({ updates: [...updates].reverse(), runs: [] });
  assert.equal(playback.padAt(2).files[0].content, "xy");
});

test("the last step equals the live document", () => {
  const { updates, doc } = typedHistory("def f(): pass");
  const playback = new Playback({ updates, runs: [] });
  assert.equal(playback.padAt(playback.length - 1).files[0].content, filesOf(doc).get("main.py").toString());
});

test("runs sit on the step made just before they started", () => {
  const steps = [{ at: 10 }, { at: 20 }, { at: 30 }];
  assert.equal(stepOfTime(steps, 5), -1);
  assert.equal(stepOfTime(steps, 20), 1);
  assert.equal(stepOfTime(steps, 25), 1);
  assert.equal(stepOfTime(steps, 99), 2);
  const { updates } = typedHistory("ab"); // steps at 1001, 1002, 1003
  const playback = new Playback({
    updates,
    runs: [
      { run_id: "late", at: 1002.5, output: "" },
      { run_id: "early", at: 900, output: "" },
    ],
  });
  assert.deepEqual(
    playback.runs.map((r) => [r.run_id, r.step]),
    [
      ["early", 0],
      ["late", 1],
    ],
  );
  assert.equal(playback.markerPosition(playback.runs[1]), 0.5);
});

test("a run's output reads as plain text", () => {
  assert.equal(plainOutput("\x1b[31mred\x1b[39m\r\nname? Ada\r\n"), "red\nname? Ada\n");
  assert.equal(plainOutput("50%\r100%\n"), "100%\n");
  assert.equal(plainOutput("\x1b]0;title\x07ok"), "ok");
});

test("a step says when and who", () => {
  assert.equal(describeStep({ at: 112.34, author: { name: "Ada", role: "edit" } }, 100), "+12.3 s · Ada (edit)");
  assert.equal(describeStep({ at: 190, author: { name: "Bo", role: "owner" } }, 100), "+1 min 30 s · Bo (owner)");
});

test("test runs sit on the timeline like runs, and read as their summary and each case", () => {
  const { updates } = typedHistory("ab"); // steps at 1001, 1002, 1003
  const testRun = {
    run_id: "t1",
    at: 1003.5,
    author: { name: "Carl", role: "edit" },
    language: "python",
    summary: "1/2 passed",
    passed: 1,
    total: 2,
    results: [
      { index: 0, name: "small", passed: true, verdict: "ok", wall_ms: 41 },
      { index: 1, name: "hidden 2", passed: false, verdict: "timeout", wall_ms: 2001 },
    ],
  };
  const playback = new Playback({ updates, runs: [] }, [testRun, { ...testRun, run_id: "t0", at: 1001.2 }]);
  assert.deepEqual(
    playback.testRuns.map((t) => [t.run_id, t.step]),
    [
      ["t0", 0],
      ["t1", 2],
    ],
  );
  assert.equal(playback.markerPosition(playback.testRuns[1]), 1);
  assert.equal(
    describeTestRun(testRun),
    "Carl ran the tests (python): 1/2 passed\n\n✔ small  ok  41 ms\n✘ hidden 2  timeout  2001 ms",
  );
  assert.deepEqual(new Playback({ updates, runs: [] }).testRuns, []);
});
