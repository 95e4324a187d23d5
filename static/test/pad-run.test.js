import assert from "node:assert/strict";
import { test } from "node:test";

import { MISSED, PadRunState } from "../src/pad-run.js";
import { EndReason } from "../src/session.js";

const page = { origin: "http://pad.test", host: "pad.test" };
const RUN = { run_id: "r1", key: "k", by: "Ada", at: 1 };
const make = (role = "driver") => new PadRunState(RUN, { page, role, language: () => "Python" });

test("joining says whose run it is on a clean terminal", () => {
  const report = make().connect();
  assert.deepEqual(report.reset, { cursor: false, intro: "Ada ran the pad…" });
});

test("the snapshot sets the run's mode and notes who ran it, without a notice", () => {
  const run = make("viewer");
  const report = run.snapshot({ tty: true, version: "3.12", frames: [] }, { rejoin: true });
  assert.equal(run.tty, true);
  assert.equal(report.notice, undefined);
  assert.equal(report.note, "[Ada ran the pad]");
});

test("a run that finished before the page joined is said so, not reported as an error", () => {
  const run = make();
  const report = run.error({ type: "error", code: "bad_request", message: "no such run" }, { started: false });
  assert.equal(report.note, MISSED);
  assert.equal(report.notice, undefined);
  assert.deepEqual(run.end({ reason: EndReason.ERROR }), { presence: null });
});

test("a finished run's verdict shows as for any run", () => {
  const run = make();
  const report = run.exit({ type: "exit", stage: "run", verdict: "ok", code: 0, wall_ms: 12 });
  assert.equal(report.verdict, "ok");
});

test("a dropped connection tells a driver to run again and a viewer nothing to press", () => {
  assert.match(make("driver").end({ reason: EndReason.DROPPED, detail: "x" }).notice.text, /Press Run/);
  assert.doesNotMatch(make("viewer").end({ reason: EndReason.DROPPED, detail: "x" }).notice.text, /Press Run/);
});
