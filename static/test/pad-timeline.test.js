import assert from "node:assert/strict";
import { test } from "node:test";

import { FocusReport, isPaste, RECORDED_NOTICE, startRecording } from "../src/pad-recording.js";
import { formatDuration, reportFacts } from "../src/pad-report.js";
import { describeMark, moments, neighbour, Playback, terminalAt, timePosition } from "../src/playback.js";

const run = {
  run_id: "r1",
  at: 100,
  finished_at: 110,
  author: { name: "Ada", role: "edit" },
  verdict: "ok",
  output: "name? Grace\r\nhello Grace\r\n",
  transcript: [
    [100.5, "out", "name? "],
    [104, "in", "Grace\n"],
    [104.01, "out", "Grace\r\n"],
    [104.2, "out", "hello Grace\r\n"],
  ],
};
const history = {
  runs: [run],
  marks: [
    { at: 102, kind: "paste", size: 240, author: { name: "Grace", role: "edit" } },
    { at: 103, kind: "focus_lost", author: { name: "Grace", role: "edit" } },
    { at: 106, kind: "note", text: "good recovery", author: { name: "Olga", role: "owner" } },
  ],
};

test("the terminal at a moment shows the output up to it, and what was typed so far", () => {
  assert.deepEqual(terminalAt([run], 99), { run: null, text: "", typed: "" });
  assert.equal(terminalAt([run], 101).text, "name? ");
  assert.equal(terminalAt([run], 101).typed, "");
  const after = terminalAt([run], 105);
  assert.equal(after.text, "name? Grace\nhello Grace\n");
  assert.equal(after.typed, "Grace\n");
  const old = { ...run, transcript: [] };
  assert.equal(terminalAt([old], 105).text, "", "a run without a transcript shows its output once it ended");
  assert.equal(terminalAt([old], 111).text, "name? Grace\nhello Grace\n");
});

test("moments put runs, typed input, marks and test runs in time order, and playback steps between them", () => {
  const found = moments(history, [{ at: 108, summary: "3/3 passed" }]);
  assert.deepEqual(
    found.map((m) => m.kind),
    ["run", "paste", "focus_lost", "input", "note", "tests", "run_end"],
  );
  assert.equal(found.find((m) => m.kind === "input").label, 'typed "Grace\\n"');
  assert.equal(neighbour(found, 102, 1).kind, "focus_lost");
  assert.equal(neighbour(found, 102, -1).kind, "run");
  assert.equal(neighbour(found, 110, 1), null);
  assert.equal(timePosition(105, 100, 110), 0.5);
  assert.equal(describeMark(history.marks[0]), "Grace pasted 240 characters");
  assert.equal(describeMark(history.marks[2]), "note: good recovery");
});

test("a paste is an insertion bigger than the pad's threshold", () => {
  assert.equal(isPaste(81, 80), true);
  assert.equal(isPaste(80, 80), false);
  assert.equal(isPaste(1000, 0), false, "no threshold: nothing is reported");
});

test("focus and visibility are reported once per change, and a page starting focused reports nothing", () => {
  const sent = [];
  const report = new FocusReport((action) => sent.push(action.state));
  report.focus(true);
  report.visibility(true);
  report.focus(false);
  report.focus(false);
  report.visibility(false);
  report.visibility(true);
  report.focus(true);
  assert.deepEqual(sent, ["lost", "hidden", "visible", "regained"]);
});

test("the report's summary says what happened, with times from the start", () => {
  const report = {
    pad: { title: "Two Sum", language: "python", created_at: 1000, ended_at: 1300, duration_s: 300 },
    question: { slug: "two-sum", title: "Two Sum", difficulty: "easy" },
    test_runs: [{ summary: "3/5 passed" }, { summary: "5/5 passed" }],
    runs: [{ verdict: "ok" }],
    pastes: { count: 1, characters: 240, items: [{ at: 1065, size: 240, by: "Grace" }] },
    focus_lost: { count: 2, at: [1010, 1200] },
    code: { entry: "main.py", files: [] },
    notes: "",
    pinned_notes: [],
  };
  const facts = Object.fromEntries(reportFacts(report));
  assert.equal(facts.Duration, "5 min 00 s");
  assert.equal(facts.Tests, "5/5 passed on the last of 2 test run(s)");
  assert.equal(facts.Pastes, "1, 240 characters (at +1 min 05 s)");
  assert.equal(facts["Focus lost"], "2 (at +10.0 s, +3 min 20 s)");
  assert.equal(formatDuration(3725), "1 h 2 min");
});

test("a playback's time runs to its last moment, past its last edit", () => {
  const playback = new Playback({ updates: [], ...history });
  assert.equal(playback.timeEnd, 110, "the run ended after every edit and mark");
  assert.equal(playback.stepAtTime(105), 0);
  assert.equal(playback.terminalAt(104.1).typed, "Grace\n");
  assert.equal(playback.moments.filter((m) => m.kind === "input").length, 1);
});

/** A window with just what startRecording touches: listeners, focus, visibility, storage. */
function fakeWindow() {
  const listeners = new Map();
  const on = (name, fn) => listeners.set(name, [...(listeners.get(name) ?? []), fn]);
  const off = (name, fn) => listeners.set(name, (listeners.get(name) ?? []).filter((f) => f !== fn));
  const stored = new Map();
  const document = { visibilityState: "visible", hasFocus: () => true, addEventListener: on, removeEventListener: off };
  return {
    document,
    addEventListener: on,
    removeEventListener: off,
    localStorage: { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => stored.set(k, v) },
    fire: (name) => (listeners.get(name) ?? []).forEach((fn) => fn()),
  };
}

test("an editor's page reports pastes and focus, tells the candidate once per pad, and stops at the pad's end", () => {
  const win = fakeWindow();
  const sent = [];
  const shown = [];
  const notices = { show: (notice) => shown.push(notice.text) };
  const recording = startRecording({ send: (a) => sent.push(a), threshold: 80, padId: "p1", notices, win });
  startRecording({ send: () => {}, threshold: 80, padId: "p1", notices, win }).stop();
  assert.deepEqual(shown, [RECORDED_NOTICE], "told once, however often the page joins");
  recording.inserted(12);
  recording.inserted(300);
  win.fire("blur");
  win.document.visibilityState = "hidden";
  win.fire("visibilitychange");
  assert.deepEqual(sent, [
    { type: "paste", size: 300 },
    { type: "focus", state: "lost" },
    { type: "focus", state: "hidden" },
  ]);
  recording.stop();
  win.fire("focus");
  recording.inserted(500);
  assert.equal(sent.length, 3, "nothing after the end");
});
