import assert from "node:assert/strict";
import { test } from "node:test";

import { startEmbed } from "../src/embed.js";

const ALLOWED = "https://ats.example";

/** A window framed by a parent at `ancestor` (null: the browser does not say), the server allowing ALLOWED. */
function framedWindow({ ancestor = null, origins = `${ALLOWED} http://127.0.0.1:8123` } = {}) {
  const posted = [];
  const listeners = [];
  const parent = { postMessage: (message, target) => posted.push({ to: "parent", message, target }) };
  const win = {
    parent,
    location: { ancestorOrigins: ancestor ? [ancestor] : undefined },
    document: { querySelector: () => ({ content: origins }) },
    addEventListener: (type, listener) => type === "message" && listeners.push(listener),
  };
  /** Deliver a message event to the page; what it then posted to the parent (answers and events). */
  const deliver = async (data, { origin = ALLOWED, source = parent } = {}) => {
    const before = posted.length;
    await Promise.all(listeners.map((listener) => listener({ data, origin, source })));
    await new Promise((resolve) => setImmediate(resolve));
    return { answers: posted.slice(before) };
  };
  return { win, parent, posted, deliver };
}

function commands(calls) {
  return {
    run: (command) => {
      calls.push(command);
      return null;
    },
    stop: () => ({ code: "not_running", message: "no run is going" }),
    set_language: async (command) => {
      calls.push(command);
      return null;
    },
  };
}

test("events go to the parent at each allowed origin by name, never to '*', and only after ready", () => {
  const { win, posted } = framedWindow();
  const embed = startEmbed({ commands: commands([]), win });
  embed.emit("run_started", { run_id: "r" });
  assert.equal(posted.length, 0, "nothing before ready");
  embed.ready({ role: "edit" });
  embed.emit("run_finished", { run_id: "r", verdict: "ok", exit_code: 0 });
  assert.deepEqual(
    posted.map((p) => [p.message.type, p.target]),
    [
      ["ready", ALLOWED],
      ["ready", "http://127.0.0.1:8123"],
      ["run_finished", ALLOWED],
      ["run_finished", "http://127.0.0.1:8123"],
    ],
  );
  assert.ok(posted.every((p) => p.target !== "*" && p.message.padbox === 1));
});

test("a parent the browser names is the only target, and an unlisted one gets nothing", () => {
  const named = framedWindow({ ancestor: ALLOWED });
  startEmbed({ commands: commands([]), win: named.win }).ready({});
  assert.deepEqual(named.posted.map((p) => p.target), [ALLOWED]);
  const stranger = framedWindow({ ancestor: "https://evil.example" });
  startEmbed({ commands: commands([]), win: stranger.win }).ready({});
  assert.deepEqual(stranger.posted, []);
});

test("with no allowed origins nothing is posted and nothing is answered", async () => {
  const { win, posted, deliver } = framedWindow({ origins: "" });
  const calls = [];
  startEmbed({ commands: commands(calls), win }).ready({});
  const { answers } = await deliver({ padbox: 1, type: "run" }, { origin: "" });
  assert.deepEqual([posted, answers, calls], [[], [], []]);
});

test("commands from the parent at an allowed origin run; their refusals are answered to that origin", async () => {
  const { win, deliver } = framedWindow();
  const calls = [];
  const embed = startEmbed({ commands: commands(calls), win });
  let { answers } = await deliver({ padbox: 1, type: "run", id: 1 });
  assert.equal(answers[0].message.code, "not_ready");
  assert.equal(answers[0].target, ALLOWED);
  assert.equal(calls.length, 0);

  embed.ready({});
  ({ answers } = await deliver({ padbox: 1, type: "run", id: 2 }));
  assert.deepEqual([answers, calls], [[], [{ type: "run", id: 2 }]]);
  ({ answers } = await deliver({ padbox: 1, type: "set_language", language: "go" }));
  assert.deepEqual(calls.at(-1), { type: "set_language", id: undefined, language: "go" });
  ({ answers } = await deliver({ padbox: 1, type: "stop", id: "s" }));
  assert.deepEqual(answers[0].message, {
    padbox: 1,
    type: "error",
    code: "not_running",
    message: "no run is going",
    command: "stop",
    id: "s",
  });
  ({ answers } = await deliver("garbage"));
  assert.equal(answers[0].message.code, "bad_message");
});

test("another origin, or another window at an allowed origin, is ignored without an answer", async () => {
  const { win, deliver } = framedWindow();
  const calls = [];
  startEmbed({ commands: commands(calls), win }).ready({});
  const toSibling = [];
  const sibling = { postMessage: (message) => toSibling.push(message) };
  for (const from of [{ origin: "https://evil.example" }, { origin: "null" }, { source: sibling }]) {
    const { answers } = await deliver({ padbox: 1, type: "run" }, from);
    assert.deepEqual(answers, [], JSON.stringify(from));
  }
  assert.deepEqual([calls, toSibling], [[], []]);
});

test("a command that throws is answered as refused, and the page carries on", async () => {
  const { win, deliver } = framedWindow();
  const embed = startEmbed({
    commands: {
      run: () => {
        throw new Error("boom");
      },
    },
    win,
  });
  embed.ready({});
  const { answers } = await deliver({ padbox: 1, type: "run" });
  assert.deepEqual([answers[0].message.code, answers[0].message.message], ["refused", "boom"]);
});
