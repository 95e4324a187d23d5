import assert from "node:assert/strict";
import { test } from "node:test";

import { describeRefusal, refusalCode, TOKEN_NEEDED } from "../src/access.js";
import { ErrorCode } from "../src/protocol.js";

const ORIGIN = "https://elsewhere.test";

test("an HTTP refusal is read by the code in its body", () => {
  assert.equal(refusalCode(401, { type: "error", code: "unauthorized", message: "…" }), ErrorCode.UNAUTHORIZED);
  const refusal = { type: "error", code: "forbidden_origin", message: "…" };
  assert.equal(refusalCode(403, refusal), ErrorCode.FORBIDDEN_ORIGIN);
});

test("an HTTP refusal without a body (a proxy's, say) is read by its status", () => {
  assert.equal(refusalCode(401, null), ErrorCode.UNAUTHORIZED);
  assert.equal(refusalCode(403, null), ErrorCode.FORBIDDEN_ORIGIN);
  assert.equal(refusalCode(403, "<html>Forbidden</html>"), ErrorCode.FORBIDDEN_ORIGIN);
});

test("other answers are no access refusal", () => {
  assert.equal(refusalCode(200, []), null);
  assert.equal(refusalCode(500, { code: "internal" }), null);
  assert.equal(refusalCode(503, null), null);
});

test("unauthorized asks for a token", () => {
  assert.deepEqual(describeRefusal(ErrorCode.UNAUTHORIZED, ORIGIN), {
    text: TOKEN_NEEDED,
    status: "token needed",
    askToken: true,
  });
});

test("forbidden_origin says which origin may not use the server, and asks for no token", () => {
  const refusal = describeRefusal(ErrorCode.FORBIDDEN_ORIGIN, ORIGIN);
  assert.equal(refusal.askToken, false);
  assert.equal(refusal.status, "origin refused");
  assert.match(refusal.text, /https:\/\/elsewhere\.test, may not use this padbox server/);
  assert.doesNotMatch(refusal.text, /token/i);
});

test("the decision is by code alone: words about tokens in another refusal ask for nothing", () => {
  assert.equal(describeRefusal(ErrorCode.BAD_REQUEST, ORIGIN), null);
  assert.equal(describeRefusal(ErrorCode.BUSY, ORIGIN), null);
  assert.equal(describeRefusal(undefined, ORIGIN), null);
});
