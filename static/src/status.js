// Words and numbers for the status line. Pure formatting, unit-tested in test/status.test.js.

import { Verdict } from "./protocol.js";
import { Phase } from "./session.js";

/** The stage part of the status line. */
export function phaseLabel(phase, info = {}) {
  switch (phase) {
    case Phase.CONNECTING:
      return "connecting…";
    case Phase.QUEUED:
      return Number.isInteger(info.position) ? `queued (${info.position})` : "queued";
    case Phase.STARTING:
      return "starting…";
    case Phase.COMPILE:
      return "compiling…";
    case Phase.RUN:
      return "running…";
    default:
      return String(phase);
  }
}

/** What each verdict means, for a tooltip. */
export const VERDICT_HINTS = Object.freeze({
  [Verdict.OK]: "the program exited with code 0",
  [Verdict.COMPILE_ERROR]: "the compiler rejected the program",
  [Verdict.RUNTIME_ERROR]: "the program exited with a non-zero code or crashed",
  [Verdict.TIMEOUT]: "the program ran past its time limit",
  [Verdict.MEMORY_LIMIT]: "the program used more memory than allowed",
  [Verdict.OUTPUT_LIMIT]: "the program wrote more output than allowed",
  [Verdict.KILLED]: "the program was stopped",
});

export function formatDuration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return null;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  const minutes = Math.floor(ms / 60000);
  return `${minutes} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function formatBytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) return null;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}

/**
 * The details of an `exit` message as labelled parts: exit code or signal, wall, CPU, memory.
 * A value the server could not measure (null) is left out.
 */
export function exitDetails(message) {
  const parts = [];
  if (message.signal) parts.push({ key: "exit", text: `signal ${message.signal}` });
  else if (message.code !== null && message.code !== undefined) parts.push({ key: "exit", text: `exit ${message.code}` });
  const wall = formatDuration(message.wall_ms);
  if (wall) parts.push({ key: "wall", text: `wall ${wall}` });
  const cpu = formatDuration(message.cpu_ms);
  if (cpu) parts.push({ key: "cpu", text: `cpu ${cpu}` });
  const memory = formatBytes(message.memory_bytes);
  if (memory) parts.push({ key: "memory", text: `memory ${memory}` });
  return parts;
}
