import assert from "node:assert/strict";
import { test } from "node:test";

import { TOKEN_NEEDED } from "../src/access.js";
import {
  AddressAction,
  addressAction,
  JoinedRun,
  JoinedState,
  NO_DRIVER,
  NO_SUCH_RUN,
  NOT_LOADED,
  OwnRun,
  OwnState,
  runBlocked,
  SHOWING_JOINED,
} from "../src/run-state.js";
import { EndReason, Phase } from "../src/session.js";

const PAGE = { origin: "http://pad.test", host: "pad.test" };
const PYTHON = { id: "python", name: "Python", version: "3.12", file: "main.py" };
const LANGUAGES = [PYTHON, { id: "c", name: "C", version: "gcc 12", file: "main.c" }];
const LINK = { id: "5ea288b486136400", key: "Zm9vYmFy", role: "driver" };
const FRESH = { started: false, rejoining: false };
const STARTED = { started: true, rejoining: false };

const ownRun = () => new OwnRun({ page: PAGE, name: "Python", version: "3.12", tty: true });
const joinedRun = (link = LINK) => new JoinedRun(link, { page: PAGE, languages: () => LANGUAGES });

const exitMessage = (fields) => ({
  type: "exit",
  code: 0,
  signal: null,
  wall_ms: 12,
  cpu_ms: 8,
  memory_bytes: 2048,
  ...fields,
});
const snapshotMessage = (fields = {}) => ({
  type: "snapshot",
  id: LINK.id,
  role: "driver",
  language: "python",
  version: "3.12",
  tty: true,
  stage: "run",
  files: [{ name: "main.py", content: "print(1)\n" }],
  frames: [],
  omitted_bytes: 0,
  ...fields,
});

// --- the own run

test("an own run goes connecting, queued, starting, compiling, running, and the status line follows", () => {
  const run = ownRun();
  assert.equal(run.state, OwnState.CONNECTING);
  assert.deepEqual(run.phase(Phase.CONNECTING, {}), { status: { text: "connecting…", phase: "connecting" } });
  assert.deepEqual(run.phase(Phase.QUEUED, { position: 2 }), { status: { text: "queued (2)", phase: "queued" } });
  assert.equal(run.state, OwnState.QUEUED);
  assert.deepEqual(run.phase(Phase.STARTING, { version: "3.12.7" }).status, {
    text: "starting Python 3.12.7…",
    phase: "starting",
  });
  assert.equal(run.state, OwnState.STARTING);
  assert.equal(run.phase(Phase.COMPILE, {}).status.text, "compiling…");
  assert.equal(run.state, OwnState.COMPILING);
  assert.equal(run.phase(Phase.RUN, {}).status.text, "running…");
  assert.equal(run.state, OwnState.RUNNING);
});

test("a compile that succeeds is remembered and told with the run's own numbers", () => {
  const run = ownRun();
  assert.deepEqual(run.exit(exitMessage({ stage: "compile", verdict: "ok", wall_ms: 1500 })), {});
  assert.equal(run.state, OwnState.CONNECTING, "a compile is not the end");
  const report = run.exit(exitMessage({ stage: "run", verdict: "ok" }));
  assert.equal(report.verdict, "ok");
  assert.deepEqual(report.status, { text: "finished", phase: "finished" });
  assert.deepEqual(
    report.details.map((d) => d.key),
    ["exit", "wall", "cpu", "memory", "compile"],
  );
  assert.equal(report.details.at(-1).text, "compile 1.50 s");
  assert.equal(run.state, OwnState.FINISHED);
});

test("a compile that fails ends the run with its verdict", () => {
  const run = ownRun();
  const report = run.exit(exitMessage({ stage: "compile", verdict: "compile_error", code: 1 }));
  assert.equal(report.verdict, "compile_error");
  assert.deepEqual(report.status, { text: "compile failed", phase: "finished" });
  assert.equal(run.state, OwnState.FINISHED);
});

test("Stop after the program started says stopping; before, the run is only cancelled", () => {
  const started = ownRun();
  assert.deepEqual(started.stop(true), { status: { text: "stopping…", phase: "stopping" } });
  assert.equal(started.state, OwnState.STOPPING);

  const early = ownRun();
  assert.deepEqual(early.stop(false), {});
  assert.equal(early.state, OwnState.STOPPING);
  assert.deepEqual(early.end({ reason: EndReason.CANCELLED }, FRESH).status, { text: "cancelled", phase: "finished" });
  assert.equal(early.state, OwnState.CANCELLED);
});

test("a server error fails the run, with the server's words, a red line and when to try again", () => {
  const run = ownRun();
  const report = run.error({ type: "error", code: "busy", message: "too many runs", retry_after_s: 5 }, FRESH);
  assert.deepEqual(report, {
    notice: { text: "The server is busy: too many runs (try again in 5 s)", kind: "error" },
    status: { text: "error", phase: "error" },
    line: "The server is busy.",
  });
  assert.equal(run.state, OwnState.FAILED);
  run.end({ reason: EndReason.ERROR }, FRESH);
  assert.equal(run.state, OwnState.FAILED);
});

test("a lost sandbox reads as an interrupted run, not as the program's failure", () => {
  const message = "the sandbox was lost while the program ran (its agent did not answer for 10 s); run it again";
  const report = ownRun().error({ type: "error", code: "sandbox_lost", message }, FRESH);
  assert.deepEqual(report.notice, { text: `The run was interrupted: ${message}`, kind: "error" });
  assert.deepEqual(report.status, { text: "interrupted", phase: "error" });
  assert.equal(report.line, "The run was interrupted.");
  assert.equal(report.verdict, undefined);
});

test("an error with a code the pad does not know still reads as an error", () => {
  const report = ownRun().error({ type: "error", code: "brand_new", message: "" }, FRESH);
  assert.equal(report.notice.text, "The server reported an error");
});

test("unauthorized asks for a token, whatever words come with it", () => {
  const run = ownRun();
  const report = run.error({ type: "error", code: "unauthorized", message: "no entry" }, FRESH);
  assert.deepEqual(report.notice, { text: TOKEN_NEEDED, kind: "error", askToken: true });
  assert.deepEqual(report.status, { text: "token needed", phase: "error" });
  assert.equal(run.state, OwnState.FAILED);
});

test("a refusal that merely mentions a token asks for none: the code decides", () => {
  const report = ownRun().error({ type: "error", code: "bad_request", message: "the token field is unknown" }, FRESH);
  assert.equal(report.notice.askToken, undefined);
  assert.equal(report.notice.text, "The server refused the run: the token field is unknown");
});

test("forbidden_origin says this page's origin may not use the server, and asks for no token", () => {
  const report = ownRun().error({ type: "error", code: "forbidden_origin", message: "origin refused" }, FRESH);
  assert.equal(report.notice.askToken, false);
  assert.match(report.notice.text, /http:\/\/pad\.test, may not use this padbox server/);
  assert.deepEqual(report.status, { text: "origin refused", phase: "error" });
  assert.equal(report.line, "The server refused this page's origin.");
});

test("an own run that ends hides who was on it and takes down a stale no-driver warning", () => {
  const run = ownRun();
  run.exit(exitMessage({ stage: "run", verdict: "ok" }));
  assert.deepEqual(run.end({ reason: EndReason.FINISHED }, STARTED), { presence: null, withdraw: NO_DRIVER });
  assert.equal(run.state, OwnState.FINISHED);
});

test("a server that never answers leaves the own run unreachable, and Run tries again", () => {
  const run = ownRun();
  const report = run.end({ reason: EndReason.UNREACHABLE, detail: "" }, FRESH);
  assert.equal(run.state, OwnState.UNREACHABLE);
  assert.equal(
    report.notice.text,
    "Cannot reach the padbox server at pad.test: is it running? Press Run to try again.",
  );
  assert.deepEqual(report.status, { text: "not connected", phase: "error" });
});

test("a connection that drops mid-run leaves the own run dropped, said in the terminal too", () => {
  const run = ownRun();
  run.phase(Phase.RUN, {});
  const report = run.end({ reason: EndReason.DROPPED, detail: "the connection was lost" }, STARTED);
  assert.equal(run.state, OwnState.DROPPED);
  assert.equal(
    report.notice.text,
    "The connection to the server dropped before the run finished: the connection was lost. Press Run to try again.",
  );
  assert.deepEqual(report.status, { text: "disconnected", phase: "error" });
  assert.equal(report.line, "[connection lost]");
});

test("an own run that fell behind rejoins, and its snapshot redraws the terminal with a word why", () => {
  const run = ownRun();
  run.phase(Phase.RUN, {});
  assert.deepEqual(run.phase(Phase.REJOINING, {}).status, { text: "rejoining", phase: "rejoining" });
  assert.equal(run.state, OwnState.REJOINING);
  const report = run.snapshot(snapshotMessage({ tty: false, omitted_bytes: 2048 }), { rejoin: true });
  assert.deepEqual(report.reset, { cursor: true });
  assert.equal(report.note, "[2.0 KiB of earlier output is no longer kept]");
  assert.equal(report.notice.kind, "info");
  assert.match(report.notice.text, /fell behind .* caught up/);
  assert.equal(run.tty, false, "the snapshot says which mode the run is in");
  assert.equal(run.phase(Phase.RUN, {}).status.text, "running…");
  assert.equal(run.state, OwnState.RUNNING);
});

test("an own run shows who is on it, and never warns of no driver: its starter drives", () => {
  const run = ownRun();
  assert.deepEqual(run.presence({ drivers: 1, viewers: 2 }), {
    presence: { drivers: 1, viewers: 2 },
    withdraw: NO_DRIVER,
  });
});

test("input the server refuses is told without ending the run", () => {
  const run = ownRun();
  run.phase(Phase.RUN, {});
  assert.deepEqual(run.refused({ type: "error", code: "bad_request", message: "viewers cannot type" }), {
    notice: { text: "The server refused input from this page: viewers cannot type", kind: "error" },
  });
  assert.equal(run.state, OwnState.RUNNING);
});

test("Run starts nothing while a joined run is shown, or before the languages loaded", () => {
  assert.deepEqual(runBlocked({ joined: true, ready: true }), { notice: { text: SHOWING_JOINED, kind: "info" } });
  assert.deepEqual(runBlocked({ joined: false, ready: false }), {
    notice: { text: NOT_LOADED, kind: "error" },
    reload: true,
  });
  assert.equal(runBlocked({ joined: false, ready: true }), null);
});

// --- the joined run

test("joining clears the view and says so; the snapshot makes the run live with its code", () => {
  const run = joinedRun();
  assert.equal(run.state, JoinedState.JOINING);
  assert.deepEqual(run.banner(), { title: "Joining a shared run…", detail: "", rejoin: false, live: true });
  assert.deepEqual(run.connect(), { reset: { cursor: false, intro: "Joining the shared run…" } });
  const report = run.snapshot(snapshotMessage(), { rejoin: false });
  assert.deepEqual(report, { reset: { cursor: true } });
  assert.equal(run.state, JoinedState.LIVE);
  assert.equal(run.language, "python");
  assert.deepEqual(run.files, [{ name: "main.py", content: "print(1)\n" }]);
  assert.deepEqual(run.banner(), {
    title: "Driving a shared run",
    detail: "Python 3.12: what you type in the terminal goes to the program; the code is read-only.",
    rejoin: false,
    live: true,
  });
});

test("a watcher's banner says it cannot type", () => {
  const run = joinedRun({ ...LINK, role: "viewer" });
  run.snapshot(snapshotMessage({ role: "viewer" }), { rejoin: false });
  assert.equal(run.banner().title, "Watching a shared run");
  assert.match(run.banner().detail, /cannot type into it/);
});

test("a joined run's language is the server's entry when listed, else the snapshot's id", () => {
  const listed = joinedRun();
  listed.snapshot(snapshotMessage(), { rejoin: false });
  assert.equal(listed.phase(Phase.STARTING, {}).status.text, "starting Python 3.12…");

  const unlisted = joinedRun();
  unlisted.snapshot(snapshotMessage({ language: "cobol", version: "", files: [{ name: "m.cob", content: "" }] }), {
    rejoin: false,
  });
  assert.deepEqual(unlisted.languageEntry(), { id: "cobol", name: "cobol", file: "m.cob" });
  assert.equal(unlisted.phase(Phase.STARTING, {}).status.text, "starting cobol…");
});

test("a snapshot keeps only well-formed files, and the file shown when it still exists", () => {
  const run = joinedRun();
  const files = [{ name: "a.py", content: "" }, { name: "b.py", content: "" }, { name: 3 }, null];
  run.snapshot(snapshotMessage({ files }), { rejoin: false });
  assert.deepEqual(run.files.map((f) => f.name), ["a.py", "b.py"]);
  run.selectFile(1);
  run.snapshot(snapshotMessage({ files }), { rejoin: true });
  assert.equal(run.fileIndex, 1);
  run.snapshot(snapshotMessage(), { rejoin: true });
  assert.equal(run.fileIndex, 0, "a file that is gone falls back to the first");
});

test("a link to no live run: the join is refused as a bad request before any snapshot, and the run is missing", () => {
  const run = joinedRun();
  const report = run.error({ type: "error", code: "bad_request", message: "no such run" }, FRESH);
  assert.deepEqual(report, {
    notice: { text: NO_SUCH_RUN, kind: "error" },
    status: { text: "no such run", phase: "error" },
    line: "No live run at this link.",
  });
  assert.equal(run.state, JoinedState.MISSING);
  run.end({ reason: EndReason.ERROR }, FRESH);
  assert.equal(run.state, JoinedState.MISSING, "missing stays missing when the socket closes");
  assert.equal(run.banner().title, "No live run at this link");
  assert.equal(run.banner().rejoin, false);
});

test("a join refused for want of a token asks for one, and the token retries the join", () => {
  const run = joinedRun();
  const report = run.error({ type: "error", code: "unauthorized", message: "" }, FRESH);
  assert.equal(report.notice.askToken, true);
  assert.equal(run.retriesWithToken(), false, "not before the session has ended");
  run.end({ reason: EndReason.ERROR }, FRESH);
  assert.equal(run.state, JoinedState.REFUSED);
  assert.deepEqual(run.banner(), {
    title: "Could not join the shared run",
    detail: "The message above says why.",
    rejoin: true,
    live: false,
  });
  assert.equal(run.retriesWithToken(), true);
  run.connect();
  assert.equal(run.state, JoinedState.JOINING);
});

test("a join refused for another reason (a full run, a foreign origin) is refused, not missing", () => {
  for (const code of ["busy", "forbidden_origin"]) {
    const run = joinedRun();
    const report = run.error({ type: "error", code, message: "no" }, FRESH);
    assert.notEqual(report.notice.askToken, true);
    run.end({ reason: EndReason.ERROR }, FRESH);
    assert.equal(run.state, JoinedState.REFUSED, code);
  }
});

test("an error after the snapshot ends the joined run", () => {
  const run = joinedRun();
  run.snapshot(snapshotMessage(), { rejoin: false });
  const report = run.error({ type: "error", code: "internal", message: "oops" }, STARTED);
  assert.equal(report.notice.text, "The server failed: oops");
  run.end({ reason: EndReason.ERROR }, STARTED);
  assert.equal(run.state, JoinedState.ENDED);
});

test("a joined run that fell behind and could not catch up has ended", () => {
  const run = joinedRun();
  run.snapshot(snapshotMessage(), { rejoin: false });
  const behind = { started: true, rejoining: true };
  const report = run.error({ type: "error", code: "bad_request", message: "no such run" }, behind);
  assert.deepEqual(report, {
    notice: {
      text: "This page fell behind the run's output and could not catch up: the run has ended.",
      kind: "error",
    },
    status: { text: "disconnected", phase: "error" },
  });
  run.end({ reason: EndReason.ERROR }, STARTED);
  assert.equal(run.state, JoinedState.ENDED);
});

test("a joined run that finishes has ended; its output stays", () => {
  const run = joinedRun();
  run.snapshot(snapshotMessage(), { rejoin: false });
  run.exit(exitMessage({ stage: "run", verdict: "ok" }));
  assert.equal(run.state, JoinedState.LIVE, "live until the server closes");
  assert.deepEqual(run.end({ reason: EndReason.FINISHED }, STARTED), { presence: null, withdraw: NO_DRIVER });
  assert.equal(run.state, JoinedState.ENDED);
  assert.deepEqual(run.banner(), {
    title: "The shared run has ended",
    detail: "Its output stays here until you go back to your own code.",
    rejoin: false,
    live: false,
  });
});

test("a dropped connection leaves the joined run dropped, and Rejoin connects again", () => {
  const run = joinedRun();
  run.snapshot(snapshotMessage(), { rejoin: false });
  const report = run.end({ reason: EndReason.DROPPED, detail: "the connection was lost" }, STARTED);
  assert.match(report.notice.text, /dropped .* Press Rejoin to try again\.$/);
  assert.equal(report.line, "[connection lost]");
  assert.equal(run.state, JoinedState.DROPPED);
  assert.equal(run.banner().rejoin, true);
  assert.equal(run.mayRejoin(false), true);
  assert.equal(run.mayRejoin(true), false, "not while a session is on it");
  run.connect();
  run.snapshot(snapshotMessage(), { rejoin: false });
  assert.equal(run.state, JoinedState.LIVE);
});

test("a server never reached leaves the joined run dropped too", () => {
  const run = joinedRun();
  const report = run.end({ reason: EndReason.UNREACHABLE, detail: "" }, FRESH);
  assert.equal(
    report.notice.text,
    "Cannot reach the padbox server at pad.test: is it running? Press Rejoin to try again.",
  );
  assert.equal(run.state, JoinedState.DROPPED);
});

test("a joined run warns when no driver is left, and takes the warning down when one comes back", () => {
  const run = joinedRun({ ...LINK, role: "viewer" });
  run.snapshot(snapshotMessage(), { rejoin: false });
  assert.deepEqual(run.presence({ drivers: 0, viewers: 2 }), {
    presence: { drivers: 0, viewers: 2 },
    notice: { text: NO_DRIVER, kind: "info" },
  });
  assert.deepEqual(run.presence({ drivers: 1, viewers: 2 }), {
    presence: { drivers: 1, viewers: 2 },
    withdraw: NO_DRIVER,
  });
});

test("a damaged link is missing at once, with nothing to rejoin", () => {
  const run = joinedRun({ id: "", key: "", role: "viewer" });
  const report = run.damaged("This share link is incomplete or damaged.");
  assert.deepEqual(report, {
    reset: { cursor: false },
    notice: { text: "This share link is incomplete or damaged.", kind: "error" },
    status: { text: "no such run", phase: "error" },
    line: "This share link is damaged.",
  });
  assert.equal(run.state, JoinedState.MISSING);
  assert.equal(run.mayRejoin(false), false);
});

// --- the page's address

test("the address decides: no link leaves, a new link joins, the same link stays", () => {
  const joined = joinedRun();
  assert.equal(addressAction(null, { ownShare: null, joined }), AddressAction.LEAVE);
  assert.equal(addressAction(LINK, { ownShare: null, joined: null }), AddressAction.JOIN);
  assert.equal(addressAction({ ...LINK }, { ownShare: null, joined }), AddressAction.STAY);
  assert.equal(addressAction({ ...LINK, role: "viewer" }, { ownShare: null, joined }), AddressAction.JOIN);
  assert.equal(addressAction({ ...LINK, id: "0000" }, { ownShare: null, joined }), AddressAction.JOIN);
});

test("a damaged link is told as such; a link to the page's own live run is not joined", () => {
  assert.equal(addressAction({ error: "damaged" }, { ownShare: null, joined: null }), AddressAction.DAMAGED);
  const ownShare = { id: LINK.id, key: LINK.key };
  assert.equal(addressAction(LINK, { ownShare, joined: null }), AddressAction.OWN_RUN);
  assert.equal(addressAction({ ...LINK, id: "0000" }, { ownShare, joined: null }), AddressAction.JOIN);
});
