// Playback of a pad's history (GET /api/v1/pads/<id>/history): the document at any step, keystroke by keystroke,
// and the runs and test runs (GET /api/v1/pads/<id>/tests) as markers on the same timeline; by time, the terminal
// as it was (each run's transcript, typed input included) and the marks (pastes, focus, the owner's notes). Every accepted update is one step; applying updates 0..i in order
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
    this.marks = Array.isArray(history?.marks) ? history.marks : [];
    this.moments = moments(history, testRuns);
    const last = this.moments.length ? this.moments[this.moments.length - 1].at : this.end;
    this.timeEnd = Math.max(this.end, last);
  }

  /** The step showing the document at time `at`: the last edit made by then (the first, before any). */
  stepAtTime(at) {
    return Math.max(0, stepOfTime(this.steps, at));
  }

  /** The terminal at time `at` (terminalAt). */
  terminalAt(at) {
    return terminalAt(this.runs, at);
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

// --- the timeline by time: marks, the terminal, moments to step between -------------------------------------------

/** What a mark is called on the timeline (server/padbox/pads/timeline.py MarkKind). */
export const MARK_LABELS = Object.freeze({
  paste: "pasted",
  focus_lost: "left the page",
  focus_regained: "came back",
  hidden: "page hidden",
  visible: "page visible",
  note: "note",
});

/** Keystrokes typed into a run this close together (seconds) are one moment on the timeline. */
export const TYPING_GAP_S = 2;

/** The speeds playback plays at. */
export const SPEEDS = Object.freeze([1, 4, 16]);

/** A mark's one-line description: who did what (a paste's size, a note's text). */
export function describeMark(mark) {
  const who = mark.author?.name ?? "";
  switch (mark.kind) {
    case "paste":
      return `${who} pasted ${mark.size} characters`;
    case "note":
      return `note: ${mark.text ?? ""}`;
    default:
      return `${who}: ${MARK_LABELS[mark.kind] ?? mark.kind}`;
  }
}

/**
 * Every moment worth stopping at, in time order: runs starting and ending, input typed into them, test runs, and the
 * marks (pastes, focus, notes). Each is {at, kind, label, run?, mark?}.
 */
export function moments(history, testRuns = []) {
  const found = [];
  for (const run of history?.runs ?? []) {
    found.push({ at: run.at, kind: "run", label: `${run.author?.name ?? ""} ran the pad`, run });
    // Keystrokes close together are one moment (a word, a line), placed at its last key.
    let typing = null;
    for (const [at, kind, text] of run.transcript ?? []) {
      if (kind !== "in") continue;
      if (typing && at - typing.at <= TYPING_GAP_S) {
        typing.text += text;
        typing.at = at;
      } else {
        typing = { at, kind: "input", text, run };
        found.push(typing);
      }
    }
    if (run.finished_at) found.push({ at: run.finished_at, kind: "run_end", label: `run ended: ${run.verdict ?? run.error?.code ?? "?"}`, run });
  }
  for (const moment of found) if (moment.kind === "input") moment.label = `typed ${JSON.stringify(moment.text)}`;
  for (const testRun of testRuns ?? []) found.push({ at: testRun.at, kind: "tests", label: `tests: ${testRun.summary}`, testRun });
  for (const mark of history?.marks ?? []) found.push({ at: mark.at, kind: mark.kind, label: describeMark(mark), mark });
  return found.sort((a, b) => a.at - b.at);
}

/** The moment after (or before, with direction -1) time `at`; null at either end. */
export function neighbour(list, at, direction) {
  if (direction > 0) return list.find((m) => m.at > at + 1e-6) ?? null;
  for (let i = list.length - 1; i >= 0; i -= 1) if (list[i].at < at - 1e-6) return list[i];
  return null;
}

/**
 * The terminal as it was at time `at`: the last run started by then, and its output up to that moment (a terminal
 * echoes what is typed, so the output already holds the input where it was typed), with what was typed so far.
 * A run recorded before transcripts existed shows its whole output once it has ended.
 */
export function terminalAt(runs, at) {
  let run = null;
  for (const candidate of runs ?? []) if (candidate.at <= at && (!run || candidate.at >= run.at)) run = candidate;
  if (!run) return { run: null, text: "", typed: "" };
  const transcript = run.transcript ?? [];
  if (transcript.length === 0) {
    const done = run.finished_at !== null && run.finished_at !== undefined && run.finished_at <= at;
    return { run, text: done ? plainOutput(run.output) : "", typed: "" };
  }
  let out = "";
  let typed = "";
  for (const [when, kind, text] of transcript) {
    if (when > at) break;
    if (kind === "out") out += text;
    else typed += text;
  }
  return { run, text: plainOutput(out), typed };
}

/** Where time `at` sits between `start` and `end`, from 0 to 1. */
export function timePosition(at, start, end) {
  return end <= start ? 0 : Math.max(0, Math.min(1, (at - start) / (end - start)));
}
