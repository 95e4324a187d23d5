import assert from "node:assert/strict";
import { test } from "node:test";

import {
  EmbedError,
  EmbedEvent,
  errorMessage,
  eventMessage,
  eventTargets,
  isAllowedOrigin,
  isEmbedPath,
  padPathOf,
  readCommand,
  readOrigins,
} from "../src/embed-api.js";

const ALLOWED = ["https://ats.example", "http://127.0.0.1:8123"];

test("the embed path stands for the pad's path; other paths are left alone", () => {
  assert.equal(isEmbedPath("/embed/p/abc_-1"), true);
  assert.equal(padPathOf("/embed/p/abc_-1"), "/p/abc_-1");
  assert.equal(padPathOf("/embed/p/abc/"), "/p/abc/");
  for (const path of ["/p/abc", "/", "/embed/", "/embed/p/", "/embed/p/a/b", "/x/embed/p/a"]) {
    assert.equal(isEmbedPath(path), false, path);
    assert.equal(padPathOf(path), path);
  }
});

test("only an exact listed origin is answered; 'null' (a sandboxed or file page) never is", () => {
  assert.equal(isAllowedOrigin("https://ats.example", ALLOWED), true);
  assert.equal(isAllowedOrigin("https://ats.example.evil", ALLOWED), false);
  assert.equal(isAllowedOrigin("http://ats.example", ALLOWED), false);
  assert.equal(isAllowedOrigin("null", [...ALLOWED, "null"]), false);
  assert.equal(isAllowedOrigin(undefined, ALLOWED), false);
  assert.equal(isAllowedOrigin("https://ats.example", []), false);
});

test("the origins come from the meta element's content; anything else in it is dropped", () => {
  assert.deepEqual(readOrigins("https://ats.example  http://127.0.0.1:8123"), ALLOWED);
  assert.deepEqual(readOrigins(""), []);
  assert.deepEqual(readOrigins(undefined), []);
  assert.deepEqual(readOrigins("* javascript:x https://a.example/path 'self'"), []);
});

test("events carry the version and their type, which no field can overwrite", () => {
  assert.deepEqual(eventMessage(EmbedEvent.RUN_FINISHED, { verdict: "ok", exit_code: 0, type: "x", padbox: 9 }), {
    padbox: 1,
    type: "run_finished",
    verdict: "ok",
    exit_code: 0,
  });
});

test("well-formed commands are read", () => {
  assert.deepEqual(readCommand({ padbox: 1, type: "run" }), { command: { type: "run", id: undefined } });
  assert.deepEqual(readCommand({ padbox: 1, type: "stop", id: 7 }), { command: { type: "stop", id: 7 } });
  assert.deepEqual(readCommand({ padbox: 1, type: "set_language", language: "go", id: "a" }), {
    command: { type: "set_language", id: "a", language: "go" },
  });
});

test("a bad or unknown command is an error event to send back, never a throw", () => {
  const cases = [
    [null, EmbedError.BAD_MESSAGE],
    ["run", EmbedError.BAD_MESSAGE],
    [[1, 2], EmbedError.BAD_MESSAGE],
    [{ type: "run" }, EmbedError.UNSUPPORTED_VERSION],
    [{ padbox: 2, type: "run" }, EmbedError.UNSUPPORTED_VERSION],
    [{ padbox: "1", type: "run" }, EmbedError.UNSUPPORTED_VERSION],
    [{ padbox: 1 }, EmbedError.UNKNOWN_COMMAND],
    [{ padbox: 1, type: "end_pad" }, EmbedError.UNKNOWN_COMMAND],
    [{ padbox: 1, type: "__proto__" }, EmbedError.UNKNOWN_COMMAND],
    [{ padbox: 1, type: "set_language" }, EmbedError.BAD_MESSAGE],
    [{ padbox: 1, type: "set_language", language: 3 }, EmbedError.BAD_MESSAGE],
    [{ padbox: 1, type: "run", id: "x".repeat(201) }, EmbedError.BAD_MESSAGE],
  ];
  for (const [data, code] of cases) {
    const read = readCommand(data);
    assert.equal(read.command, undefined, JSON.stringify(data));
    assert.equal(read.error.padbox, 1);
    assert.equal(read.error.type, "error");
    assert.equal(read.error.code, code, JSON.stringify(data));
    assert.equal(typeof read.error.message, "string");
  }
  assert.deepEqual(readCommand({ padbox: 1, type: "jump", id: 4 }).error.id, 4);
  assert.equal(readCommand({ padbox: 1, type: "jump" }).error.command, "jump");
});

test("an error names the command and echoes its id", () => {
  assert.deepEqual(errorMessage(EmbedError.FORBIDDEN, "no", { type: "run", id: "r1" }), {
    padbox: 1,
    type: "error",
    code: "forbidden",
    message: "no",
    command: "run",
    id: "r1",
  });
});

test("events go to the parent's own origin when known (and nowhere when it is not allowed), else to each allowed one", () => {
  assert.deepEqual(eventTargets(ALLOWED, "https://ats.example"), ["https://ats.example"]);
  assert.deepEqual(eventTargets(ALLOWED, "https://evil.example"), []);
  assert.deepEqual(eventTargets(ALLOWED, null), ALLOWED);
  assert.deepEqual(eventTargets([], null), []);
  assert.ok(!eventTargets(ALLOWED, "*").includes("*"));
});
