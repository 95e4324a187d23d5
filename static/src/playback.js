// Playback of a pad's history (GET /api/v1/pads/<id>/history): the document at any step, keystroke by keystroke,
// and the runs and test runs (GET /api/v1/pads/<id>/tests) as markers on the same timeline. Every accepted update is one step; applying updates 0..i in order
// to an empty Y.Doc gives the document as it stood after step i. No DOM: tested in test/playback.test.js.

import * as Y from "yjs";

import { readPad } from "./pad-doc.js";

/** Bytes from base64, as the server sends updates. */
export function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The step a run belongs to: the last update made at or before it started (-1: before the first). */
export function stepOfTime(steps, at) {
  let low = 0;
  let high = steps.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (steps[mid].at <= at) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

/** A terminal's output as plain text for a panel: escape sequences gone, carriage returns resolved. */
export function plainOutput(text) {
  return String(text || "")
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "") // CSI: colours, cursor moves
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, "") // OSC: window titles
    .replace(/\x1b[@-Z\\-_]/g, "")
    .replace(/\r\n/g, "\n")
    .split("\n")
    .map((line) => line.slice(line.lastIndexOf("\r") + 1))
    .join("\n");
}

const seconds = (s) => (s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

/** A step's label: when (from the first step) and who. */
export function describeStep(step, start) {
  if (!step) return "";
  const who = step.author ? `${step.author.name} (${step.author.role})` : "";
  return `+${seconds(Math.max(0, step.at - start))} · ${who}`;
}

/** A test run in a marker's panel: who, the summary line, then one line per case. */
export function describeTestRun(testRun) {
  const head = `${testRun.author?.name ?? ""} ran the tests (${testRun.language}): ${testRun.summary}`;
  const lines = (testRun.results ?? []).map((r) => {
    const mark = r.passed ? "✔" : "✘";
    const why = r.verdict ?? r.error ?? "";
    return `${mark} ${r.name}  ${why}${r.wall_ms === undefined || r.wall_ms === null ? "" : `  ${r.wall_ms} ms`}`;
  });
  return [head, "", ...lines].join("\n");
}

/** A pad's whole history, replayable step by step. */
export class Playback {
  /**
   * @param {{updates: object[], runs: object[]}} history  the server's answer
   * @param {object[]} [testRuns]  the pad's test runs (GET .../tests `test_runs`)
   */
  constructor(history, testRuns = []) {
    const updates = Array.isArray(history?.updates) ? [...history.updates] : [];
    updates.sort((a, b) => a.seq - b.seq);
    this.steps = updates.map(({ seq, at, author }) => ({ seq, at, author }));
    this.updates = updates.map((u) => fromBase64(u.update));
    this.start = this.steps.length ? this.steps[0].at : 0;
    this.end = this.steps.length ? this.steps[this.steps.length - 1].at : 0;
    this.runs = (Array.isArray(history?.runs) ? history.runs : [])
      .map((run) => ({ ...run, step: Math.max(0, stepOfTime(this.steps, run.at)) }))
      .sort((a, b) => a.at - b.at);
    this.testRuns = (Array.isArray(testRuns) ? testRuns : [])
      .map((testRun) => ({ ...testRun, step: Math.max(0, stepOfTime(this.steps, testRun.at)) }))
      .sort((a, b) => a.at - b.at);
    this.doc = null;
    this.index = -1; // the last update applied to `doc`
  }

  get length() {
    return this.steps.length;
  }

  /** The document after step `index` (clamped): forward from the last one asked for, else rebuilt from empty. */
  docAt(index) {
    const target = Math.max(-1, Math.min(index, this.updates.length - 1));
    if (this.doc === null || target < this.index) {
      this.doc?.destroy();
      this.doc = new Y.Doc();
      this.index = -1;
    }
    while (this.index < target) {
      this.index += 1;
      Y.applyUpdate(this.doc, this.updates[this.index]);
    }
    return this.doc;
  }

  /** The pad as plain values after step `index` (pad-doc.js readPad). */
  padAt(index) {
    return readPad(this.docAt(index));
  }

  /** Where a run's (or a test run's) marker sits on a timeline of the steps, from 0 to 1. */
  markerPosition(run) {
    return this.steps.length <= 1 ? 0 : run.step / (this.steps.length - 1);
  }
}
