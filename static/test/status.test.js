import assert from "node:assert/strict";
import { test } from "node:test";

import { Phase } from "../src/session.js";
import { exitDetails, formatBytes, formatDuration, phaseLabel } from "../src/status.js";

test("the queue position is shown while queued", () => {
  assert.equal(phaseLabel(Phase.QUEUED, { position: 3 }), "queued (3)");
  assert.equal(phaseLabel(Phase.QUEUED, {}), "queued");
});

test("durations read in the unit a person expects", () => {
  assert.equal(formatDuration(12), "12 ms");
  assert.equal(formatDuration(1234), "1.23 s");
  assert.equal(formatDuration(125000), "2 min 5 s");
  assert.equal(formatDuration(null), null);
});

test("memory reads in binary units", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(7340032), "7.0 MiB");
  assert.equal(formatBytes(undefined), null);
});

test("an exit shows its code, times and memory; unmeasured values are left out", () => {
  const parts = exitDetails({ code: 0, signal: null, wall_ms: 12, cpu_ms: null, memory_bytes: 7340032 });
  assert.deepEqual(parts.map((p) => p.text), ["exit 0", "wall 12 ms", "memory 7.0 MiB"]);
});

test("a program ended by a signal shows the signal instead of a code", () => {
  const parts = exitDetails({ code: null, signal: "SIGKILL", wall_ms: 1000, cpu_ms: 990, memory_bytes: null });
  assert.deepEqual(parts.map((p) => p.text), ["signal SIGKILL", "wall 1.00 s", "cpu 990 ms"]);
});
