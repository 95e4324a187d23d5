import assert from "node:assert/strict";
import { test } from "node:test";

import { joinMessage, runMessage } from "../src/protocol.js";
import { EndReason, Phase, RunSession } from "../src/session.js";

/** A WebSocket stand-in: records what the pad sends; the test plays the server. */
class FakeSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close(code = 1000) {
    if (this.readyState === 3) return;
    const opened = this.readyState === 1;
    this.readyState = 3;
    this.onclose({ code: opened ? code : 1006, reason: "" });
  }
  // server side
  open() {
    this.readyState = 1;
    this.onopen();
  }
  message(obj) {
    this.onmessage({ data: JSON.stringify(obj) });
  }
  serverClose(code = 1000, reason = "") {
    this.readyState = 3;
    this.onclose({ code, reason });
  }
}

class FakeTimers {
  constructor() {
    this.pending = new Map();
    this.next = 1;
  }
  setTimeout(fn, ms) {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clearTimeout(id) {
    this.pending.delete(id);
  }
  fireAll() {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const { fn } of due) fn();
  }
}

const RUN = runMessage({ language: "python", fileName: "main.py", content: "print(1)", tty: true, cols: 80, rows: 24 });

function makeSession(request = RUN) {
  const events = [];
  const timers = new FakeTimers();
  const sockets = [];
  const session = new RunSession({
    url: "ws://pad.test/ws",
    request,
    handlers: {
      phase: (phase, info) => events.push(["phase", phase, info]),
      output: (stream, stage, data) => events.push(["output", stream, stage, data]),
      exit: (msg) => events.push(["exit", msg.stage, msg.verdict]),
      error: (msg) => events.push(["error", msg.code]),
      end: (info) => events.push(["end", info.reason]),
      snapshot: (msg, { rejoin }) => events.push(["snapshot", msg.role, rejoin]),
      presence: (counts) => events.push(["presence", counts]),
      refused: (msg) => events.push(["refused", msg.code]),
    },
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    timers,
  });
  session.start();
  return { session, events, timers, socket: () => sockets.at(-1), sockets };
}

const exit = (stage, verdict, code = 0) => ({
  type: "exit", stage, code, signal: null, verdict, wall_ms: 10, cpu_ms: 5, memory_bytes: 1024,
});

test("the run message goes first, once the socket opens", () => {
  const { socket } = makeSession();
  assert.deepEqual(socket().sent, []);
  socket().open();
  assert.equal(socket().sent.length, 1);
  assert.deepEqual(socket().sent[0], {
    type: "run", language: "python", files: [{ name: "main.py", content: "print(1)" }],
    args: [], stdin: "", tty: true, cols: 80, rows: 24,
  });
});

test("a compiled run reports each stage, its output and one end", () => {
  const { socket, events } = makeSession();
  socket().open();
  socket().message({ type: "queued", position: 2 });
  socket().message({ type: "started", id: "r1", language: "c", version: "12.2" });
  socket().message({ type: "stage", stage: "compile" });
  socket().message(exit("compile", "ok"));
  socket().message({ type: "stage", stage: "run" });
  socket().message({ type: "stdout", stage: "run", data: "hi\n" });
  socket().message(exit("run", "ok"));
  socket().serverClose(1000);
  assert.deepEqual(
    events.map((e) => e.slice(0, 3)),
    [
      ["phase", Phase.CONNECTING, {}],
      ["phase", Phase.STARTING, {}],
      ["phase", Phase.QUEUED, { position: 2 }],
      ["phase", Phase.STARTING, { version: "12.2", id: "r1" }],
      ["phase", Phase.COMPILE, {}],
      ["exit", "compile", "ok"],
      ["phase", Phase.RUN, {}],
      ["output", "stdout", "run"],
      ["exit", "run", "ok"],
      ["end", EndReason.FINISHED],
    ],
  );
});

test("a failed compile finishes the run without a run stage", () => {
  const { socket, events, session } = makeSession();
  socket().open();
  socket().message({ type: "started", id: "r1", language: "c", version: "12.2" });
  socket().message(exit("compile", "compile_error", 1));
  assert.equal(session.running, false);
  socket().serverClose(1000);
  assert.deepEqual(events.at(-1), ["end", EndReason.FINISHED]);
});

test("a socket that never opens means the server is unreachable", () => {
  const { socket, events } = makeSession();
  socket().serverClose(1006);
  assert.deepEqual(events.at(-1), ["end", EndReason.UNREACHABLE]);
});

test("a socket that closes mid-run is a dropped connection, with the close code explained", () => {
  const ends = [];
  const { socket, session } = makeSession();
  session.handlers.end = (info) => ends.push(info);
  socket().open();
  socket().message({ type: "started", id: "r1", language: "python", version: "3.11" });
  socket().serverClose(1009);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].reason, EndReason.DROPPED);
  assert.match(ends[0].detail, /too big/);
});

test("an error message ends the run as an error, not as a dropped connection", () => {
  const { socket, events } = makeSession();
  socket().open();
  socket().message({ type: "error", code: "unknown_language", message: "no such language" });
  socket().serverClose(1000);
  assert.deepEqual(events.slice(-2), [["error", "unknown_language"], ["end", EndReason.ERROR]]);
});

test("stop interrupts, then kills a program still running a second later", () => {
  const { socket, session, timers } = makeSession();
  socket().open();
  socket().message({ type: "started", id: "r1", language: "python", version: "3.11" });
  session.stop();
  assert.deepEqual(socket().sent.at(-1), { type: "signal", signal: "SIGINT" });
  assert.equal([...timers.pending.values()][0].ms, 1000);
  timers.fireAll();
  assert.deepEqual(socket().sent.at(-1), { type: "signal", signal: "SIGKILL" });
});

test("stop does not kill a program that ended after the interrupt", () => {
  const { socket, session, timers } = makeSession();
  socket().open();
  socket().message({ type: "started", id: "r1", language: "python", version: "3.11" });
  session.stop();
  socket().message(exit("run", "killed", null));
  timers.fireAll();
  assert.deepEqual(socket().sent.map((m) => m.type), ["run", "signal"]);
});

test("stop before the program started cancels the run", () => {
  const { socket, session, events } = makeSession();
  socket().open();
  session.stop();
  assert.deepEqual(events.at(-1), ["end", EndReason.CANCELLED]);
  assert.deepEqual(socket().sent.map((m) => m.type), ["run"]);
});

test("an abandoned run is interrupted, closed and reports nothing more", () => {
  const { socket, session, events } = makeSession();
  socket().open();
  socket().message({ type: "started", id: "r1", language: "python", version: "3.11" });
  const before = events.length;
  session.abandon();
  assert.deepEqual(socket().sent.at(-1), { type: "signal", signal: "SIGINT" });
  assert.equal(socket().readyState, 3);
  socket().message({ type: "stdout", stage: "run", data: "late" });
  assert.equal(events.length, before);
  assert.equal(session.active, false);
});

test("input and resizes reach a running program and nothing after it ends", () => {
  const { socket, session } = makeSession();
  socket().open();
  socket().message({ type: "started", id: "r1", language: "python", version: "3.11" });
  session.sendStdin("Ada\r");
  session.resize(100, 30);
  session.sendEof();
  socket().message(exit("run", "ok"));
  session.sendStdin("late");
  assert.deepEqual(socket().sent.slice(1), [
    { type: "stdin", data: "Ada\r" },
    { type: "resize", cols: 100, rows: 30 },
    { type: "eof" },
  ]);
});

test("frames that are not JSON objects, or of unknown types, are ignored", () => {
  const { socket, events } = makeSession();
  socket().open();
  const before = events.length;
  socket().onmessage({ data: "not json" });
  socket().onmessage({ data: "[1,2]" });
  socket().message({ type: "from_the_future" });
  assert.equal(events.length, before);
});

// --- shared runs

const SHARE_KEY = "k".repeat(32);
const VIEW_KEY = "v".repeat(32);
const started = {
  type: "started", id: "r1", language: "python", version: "3.11", driver_key: SHARE_KEY, viewer_key: VIEW_KEY,
};

function snapshot(role, frames, extra = {}) {
  return {
    type: "snapshot", id: "r1", role, language: "python", version: "3.11",
    files: [{ name: "main.py", content: "print(input())" }], limits: {}, tty: true, stage: "run",
    frames, omitted_bytes: 0, ...extra,
  };
}

test("the starter learns both keys from started, and loses them when the run ends", () => {
  const { socket, session } = makeSession();
  socket().open();
  assert.equal(session.share, null);
  socket().message(started);
  assert.deepEqual(session.share, { id: "r1", keys: { driver: SHARE_KEY, viewer: VIEW_KEY } });
  socket().message(exit("run", "ok"));
  assert.equal(session.share, null);
});

test("a joiner sends join first, then replays the snapshot's frames before live ones", () => {
  const { socket, events, session } = makeSession(joinMessage("r1", SHARE_KEY, "driver"));
  socket().open();
  assert.deepEqual(socket().sent, [{ type: "join", id: "r1", key: SHARE_KEY, role: "driver" }]);
  socket().message(
    snapshot(
      "driver",
      [
        { type: "queued", position: 1 },
        { type: "stage", stage: "run" },
        { type: "stdout", stage: "run", data: "name? " },
      ],
      { driver_key: SHARE_KEY, viewer_key: VIEW_KEY },
    ),
  );
  socket().message({ type: "presence", drivers: 2, viewers: 0 });
  socket().message({ type: "stdout", stage: "run", data: "Ada\r\n" });
  assert.deepEqual(events, [
    ["phase", Phase.JOINING, {}],
    ["snapshot", "driver", false],
    ["phase", Phase.RUN, {}],
    ["output", "stdout", "run", "name? "],
    ["presence", { drivers: 2, viewers: 0 }],
    ["output", "stdout", "run", "Ada\r\n"],
  ]);
  assert.deepEqual(session.share, { id: "r1", keys: { driver: SHARE_KEY, viewer: VIEW_KEY } });
});

test("a viewer who joined with the driver key passes on only the viewer key its snapshot hands it", () => {
  const { socket, session } = makeSession(joinMessage("r1", SHARE_KEY, "viewer"));
  socket().open();
  socket().message(snapshot("viewer", [{ type: "stage", stage: "run" }], { viewer_key: VIEW_KEY }));
  assert.deepEqual(session.share, { id: "r1", keys: { viewer: VIEW_KEY } });
});

test("a snapshot taken before any stage began shows the run starting", () => {
  const { socket, events } = makeSession(joinMessage("r1", SHARE_KEY, "viewer"));
  socket().open();
  socket().message(snapshot("viewer", [], { stage: null }));
  assert.deepEqual(events.at(-1), ["phase", Phase.STARTING, { version: "3.11", id: "r1" }]);
});

test("a driver who joined types and stops, but never resizes the starter's terminal", () => {
  const { socket, session } = makeSession(joinMessage("r1", SHARE_KEY, "driver"));
  socket().open();
  socket().message(snapshot("driver", []));
  session.sendStdin("Ada\r");
  session.resize(100, 30);
  session.stop();
  assert.deepEqual(socket().sent.slice(1), [{ type: "stdin", data: "Ada\r" }, { type: "signal", signal: "SIGINT" }]);
});

test("on a pad, the driver who pressed Run sizes the run's terminal after joining it", () => {
  const { socket, session } = makeSession(joinMessage("r1", SHARE_KEY, "driver"));
  socket().open();
  socket().message(snapshot("driver", []));
  session.sendsSize = true; // the pad page sets it for the run its person started
  session.resize(100, 30);
  assert.deepEqual(socket().sent.at(-1), { type: "resize", cols: 100, rows: 30 });
});

test("a viewer sends nothing after its join, whatever is typed or pressed", () => {
  const { socket, session } = makeSession(joinMessage("r1", SHARE_KEY, "viewer"));
  socket().open();
  socket().message(snapshot("viewer", []));
  session.sendStdin("x");
  session.sendEof();
  session.interrupt();
  session.resize(100, 30);
  session.stop();
  assert.deepEqual(socket().sent.map((m) => m.type), ["join"]);
  assert.equal(session.canType, false);
  assert.equal(session.running, true);
});

test("a viewer's refused input is reported and the viewer keeps watching", () => {
  const { socket, session, events } = makeSession(joinMessage("r1", SHARE_KEY, "viewer"));
  socket().open();
  socket().message(snapshot("viewer", []));
  socket().message({ type: "error", code: "bad_request", message: "viewers cannot send input to the program" });
  socket().message({ type: "stdout", stage: "run", data: "still live" });
  assert.deepEqual(events.slice(-2), [["refused", "bad_request"], ["output", "stdout", "run", "still live"]]);
  assert.equal(session.running, true);
});

test("a wrong or expired link is an error, not a dropped connection", () => {
  const { socket, events } = makeSession(joinMessage("r1", "wrong", "driver"));
  socket().open();
  socket().message({ type: "error", code: "bad_request", message: "no shared run has that id and key" });
  socket().serverClose(1008);
  assert.deepEqual(events.slice(-2), [["error", "bad_request"], ["end", EndReason.ERROR]]);
});

test("dropped for falling behind (1013), a participant rejoins and gets a fresh snapshot", () => {
  const { socket, sockets, events, timers } = makeSession();
  socket().open();
  socket().message(started);
  socket().serverClose(1013);
  assert.deepEqual(events.at(-1), ["phase", Phase.REJOINING, {}]);
  assert.equal([...timers.pending.values()][0].ms, 500);
  timers.fireAll();
  assert.equal(sockets.length, 2);
  socket().open();
  assert.deepEqual(socket().sent, [{ type: "join", id: "r1", key: SHARE_KEY, role: "driver" }]);
  socket().message(snapshot("driver", [{ type: "stdout", stage: "run", data: "caught up" }]));
  socket().message(exit("run", "ok"));
  socket().serverClose(1000);
  assert.deepEqual(events.slice(-4), [
    ["snapshot", "driver", true],
    ["output", "stdout", "run", "caught up"],
    ["exit", "run", "ok"],
    ["end", EndReason.FINISHED],
  ]);
});

test("a busy refusal closes with 1013 too, and is not retried", () => {
  const { socket, sockets, events } = makeSession(joinMessage("r1", SHARE_KEY, "viewer"));
  socket().open();
  socket().message({ type: "error", code: "busy", message: "this run already has 16 participants" });
  socket().serverClose(1013);
  assert.equal(sockets.length, 1);
  assert.deepEqual(events.at(-1), ["end", EndReason.ERROR]);
});

test("rejoining gives up after a few tries and reports the drop", () => {
  const { socket, events, timers } = makeSession(joinMessage("r1", SHARE_KEY, "viewer"));
  socket().open();
  socket().message(snapshot("viewer", []));
  for (let i = 0; i < 3; i += 1) {
    socket().serverClose(1013);
    timers.fireAll();
    socket().open();
  }
  socket().serverClose(1013);
  assert.deepEqual(events.at(-1), ["end", EndReason.DROPPED]);
});

test("leaving a joined run closes the socket without interrupting the others' program", () => {
  const { socket, session } = makeSession(joinMessage("r1", SHARE_KEY, "driver"));
  socket().open();
  socket().message(snapshot("driver", []));
  session.abandon();
  assert.deepEqual(socket().sent.map((m) => m.type), ["join"]);
  assert.equal(socket().readyState, 3);
});
