import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DAMAGED_LINK,
  eventsUrl,
  keyOfLink,
  padApi,
  padLink,
  parsePadAddress,
  socketOrigin,
  yjsSocket,
} from "../src/pad-link.js";

const ID = "Xq3_bZ-9aLk2mN0p";
const KEY = "c2VjcmV0LWtleS0xOTItYml0cy1sb25nLWVub3VnaA";

test("a page outside /p/ is no pad", () => {
  assert.equal(parsePadAddress("/", ""), null);
  assert.equal(parsePadAddress("/index.html", `#key=${KEY}`), null);
  assert.equal(parsePadAddress("/p/", `#key=${KEY}`), null);
  assert.equal(parsePadAddress("/p/a/b", `#key=${KEY}`), null);
});

test("a pad link gives the pad's id and the key from the fragment", () => {
  assert.deepEqual(parsePadAddress(`/p/${ID}`, `#key=${KEY}`), { id: ID, key: KEY });
  assert.deepEqual(parsePadAddress(`/p/${ID}/`, `key=${KEY}`), { id: ID, key: KEY });
});

test("a pad link without its key, or with a key cut short into junk, is damaged", () => {
  assert.deepEqual(parsePadAddress(`/p/${ID}`, ""), { id: ID, error: DAMAGED_LINK });
  assert.deepEqual(parsePadAddress(`/p/${ID}`, "#key="), { id: ID, error: DAMAGED_LINK });
  assert.deepEqual(parsePadAddress(`/p/${ID}`, "#key=abc%20def"), { id: ID, error: DAMAGED_LINK });
  assert.deepEqual(parsePadAddress("/p/%E0%A4%A", `#key=${KEY}`), { id: "", error: DAMAGED_LINK });
});

test("links, API paths and sockets carry the key, escaped", () => {
  assert.equal(padLink("https://pad.test", ID, KEY), `https://pad.test/p/${ID}#key=${KEY}`);
  assert.equal(keyOfLink(padLink("https://pad.test", ID, KEY)), KEY);
  assert.equal(keyOfLink("not a link"), null);
  assert.equal(padApi(ID, KEY), `/api/v1/pads/${ID}?key=${KEY}`);
  assert.equal(padApi(ID, "a+b", "runs"), `/api/v1/pads/${ID}/runs?key=a%2Bb`);
  assert.equal(socketOrigin("https:", "pad.test"), "wss://pad.test");
  assert.equal(socketOrigin("http:", "127.0.0.1:8000"), "ws://127.0.0.1:8000");
  assert.equal(eventsUrl("ws://h", ID, KEY, "Ada L"), `ws://h/ws/pads/${ID}/events?key=${KEY}&name=Ada+L`);
  assert.equal(eventsUrl("ws://h", ID, KEY, ""), `ws://h/ws/pads/${ID}/events?key=${KEY}`);
  assert.deepEqual(yjsSocket("ws://h", ID, KEY, "Ada"), {
    serverUrl: "ws://h/ws/pads",
    room: ID,
    params: { key: KEY, name: "Ada" },
  });
});
