import assert from "node:assert/strict";
import { test } from "node:test";

import { driverless, parseShareHash, presenceLabel, shareLinks } from "../src/share.js";

const ID = "5ea288b486136400";
const KEY = "Zm9vYmFyLWJhei1xdXV4LTAxMjM0NTY3";
const VIEW_KEY = "dmlld2VyLW9ubHktMDEyMzQ1Njc4OWFi";
const KEYS = { driver: KEY, viewer: VIEW_KEY };

test("a run has a driver link and a viewer link, each with its own key, on the pad's own address", () => {
  assert.deepEqual(shareLinks("https://pad.test/", ID, KEYS), {
    driver: `https://pad.test/#join=${ID}.${KEY}`,
    viewer: `https://pad.test/#watch=${ID}.${VIEW_KEY}`,
  });
});

test("a page that holds only the viewer key can pass on only a watch link", () => {
  assert.deepEqual(shareLinks("https://pad.test/", ID, { viewer: VIEW_KEY }), {
    viewer: `https://pad.test/#watch=${ID}.${VIEW_KEY}`,
  });
});

test("each link reads back as the run and the role it was made for", () => {
  const links = shareLinks("http://127.0.0.1:8000/", ID, KEYS);
  for (const role of ["driver", "viewer"]) {
    assert.deepEqual(parseShareHash(new URL(links[role]).hash), { id: ID, key: KEYS[role], role });
  }
});

test("a join link that asks for the viewer role is a watch link", () => {
  assert.deepEqual(parseShareHash(`#join=${ID}.${KEY}&role=viewer`), { id: ID, key: KEY, role: "viewer" });
});

test("keys with URL-safe base64's - and _ survive", () => {
  assert.deepEqual(parseShareHash(`#join=${ID}.ab-_cd`), { id: ID, key: "ab-_cd", role: "driver" });
});

test("a page without a share link in its fragment is the person's own pad", () => {
  for (const hash of ["", "#", "#top", "#token=abc"]) assert.equal(parseShareHash(hash), null);
});

test("a damaged link is reported, not taken for the pad", () => {
  for (const hash of ["#join=", `#join=${ID}`, `#join=${ID}.`, `#watch=.${KEY}`, `#join=${ID}.${KEY}<x>`]) {
    assert.match(parseShareHash(hash).error, /incomplete or damaged/, hash);
  }
});

test("presence counts everyone, in words", () => {
  assert.equal(presenceLabel({ drivers: 2, viewers: 1 }), "2 drivers, 1 viewer");
  assert.equal(presenceLabel({ drivers: 1, viewers: 0 }), "1 driver, 0 viewers");
  assert.equal(driverless({ drivers: 0, viewers: 3 }), true);
  assert.equal(driverless({ drivers: 1, viewers: 3 }), false);
});
