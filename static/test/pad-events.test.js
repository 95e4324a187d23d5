import assert from "node:assert/strict";
import { test } from "node:test";

import { describePadClose, PadAction, PadEvents } from "../src/pad-events.js";

class FakeSocket {
  constructor(url) {
    this.url = url;
    this.closedWith = null;
    this.sent = [];
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  open() {
    this.onopen?.();
  }
  message(value) {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
  serverClose(code, reason = "") {
    this.onclose?.({ code, reason });
  }
  close(code) {
    this.closedWith = code;
  }
}

function fakeTimers() {
  const pending = [];
  return {
    pending,
    setTimeout(fn, ms) {
      pending.push({ fn, ms });
      return pending.length;
    },
    clearTimeout(id) {
      pending[id - 1].fn = () => {};
    },
    runNext() {
      pending.shift().fn();
    },
  };
}

function setUp() {
  const sockets = [];
  const seen = [];
  const timers = fakeTimers();
  const record = (name) => (value) => seen.push([name, value]);
  const events = new PadEvents({
    url: "ws://h/ws/pads/p/events?key=k",
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    timers,
    handlers: {
      pad: record("pad"),
      run: record("run"),
      runFinished: record("runFinished"),
      ended: record("ended"),
      refused: record("refused"),
      status: record("status"),
      closed: record("closed"),
    },
  });
  return { events, sockets, seen, timers };
}

const PAD = { type: "pad", id: "p", role: "edit", title: "T", language: "python", ended: false, run: null };

test("the pad, its runs and its end reach the handlers in order", () => {
  const { events, sockets, seen } = setUp();
  events.start();
  sockets[0].open();
  sockets[0].message(PAD);
  sockets[0].message({ type: "pad_run", run_id: "r1", key: "dk", by: "Ada", at: 1 });
  sockets[0].message({ type: "pad_run_finished", run_id: "r1", verdict: "ok", at: 2 });
  sockets[0].message({ type: "pad_ended", at: 3 });
  sockets[0].message({ type: "something_newer" });
  assert.deepEqual(
    seen.map(([name]) => name),
    ["status", "status", "pad", "run", "runFinished", "ended"],
  );
  assert.equal(events.pad.ended, true);
});

test("an action is sent only on an open socket, and its refusal reaches its handler", () => {
  const { events, sockets, seen } = setUp();
  events.start();
  assert.equal(events.send({ type: PadAction.RUN_TESTS }), false, "not open yet");
  sockets[0].open();
  assert.equal(events.send({ type: PadAction.RUN_TESTS }), true);
  assert.deepEqual(sockets[0].sent, [{ type: "run_tests" }]);
  sockets[0].message({ type: "error", code: "forbidden", message: "a view link cannot run the tests" });
  assert.deepEqual(seen.at(-1), ["refused", { type: "error", code: "forbidden", message: "a view link cannot run the tests" }]);
  sockets[0].serverClose(1006);
  assert.equal(events.send({ type: PadAction.RUN_TESTS }), false, "closed");
  assert.equal(sockets[0].sent.length, 1);
});

test("a run without a key to join it is ignored", () => {
  const { events, sockets, seen } = setUp();
  events.start();
  sockets[0].message({ type: "pad_run", run_id: "r1" });
  assert.equal(
    seen.some(([name]) => name === "run"),
    false,
  );
});

test("a dropped socket reconnects after a pause, and the server's fresh `pad` resets the pause", () => {
  const { events, sockets, seen, timers } = setUp();
  events.start();
  sockets[0].open();
  sockets[0].serverClose(1006);
  const [, closed] = seen.find(([name]) => name === "closed");
  assert.equal(closed.final, false);
  assert.match(closed.text, /Reconnecting/);
  assert.equal(timers.pending.length, 1);
  timers.runNext();
  assert.equal(sockets.length, 2);
  sockets[1].serverClose(1001);
  assert.ok(timers.pending[0].ms > 500, "the pause grows");
  timers.runNext();
  sockets[2].message(PAD);
  assert.equal(events.failures, 0);
});

test("a wrong or replaced key stops the page with the server's words, and no retry", () => {
  const { events, sockets, seen, timers } = setUp();
  events.start();
  sockets[0].message({ type: "pad_closed", reason: "this link was replaced by the owner" });
  sockets[0].serverClose(4404, "no pad has that id and key");
  const [, closed] = seen.find(([name]) => name === "closed");
  assert.equal(closed.final, true);
  assert.match(closed.text, /no pad has that id and key/);
  assert.equal(timers.pending.length, 0);
});

test("stop closes the socket and cancels a pending retry", () => {
  const { events, sockets, timers } = setUp();
  events.start();
  sockets[0].serverClose(1006);
  events.stop();
  timers.runNext();
  assert.equal(sockets.length, 1);
});

test("each close code says what it means", () => {
  assert.equal(describePadClose(4413, "the edit would make the pad 600 KiB").final, true);
  assert.match(describePadClose(4413, "the edit would make the pad 600 KiB").text, /600 KiB/);
  assert.match(describePadClose(4429, "this pad already has 32 participants").text, /32 participants/);
  assert.match(describePadClose(4404, "").text, /no pad has that id and key/);
  assert.equal(describePadClose(1013, "").final, false);
});
