import assert from "node:assert/strict";
import { test } from "node:test";

import { LSPClient } from "@codemirror/lsp-client";

import { textHash } from "../src/lsp-wire.js";
import { ANSWER_WITHIN_MS, PadLspConnection } from "../src/pad-lsp-connection.js";

class FakeSocket {
  constructor(url) {
    this.url = url;
    this.frames = []; // exactly what went out, one text frame each
    this.closedWith = null;
  }
  send(text) {
    assert.equal(typeof text, "string", "one JSON-RPC message per text frame");
    this.frames.push(text);
  }
  get sent() {
    return this.frames.map((f) => JSON.parse(f));
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
  const pending = new Map();
  let next = 0;
  return {
    pending,
    setTimeout(fn, ms) {
      next += 1;
      pending.set(next, { fn, ms });
      return next;
    },
    clearTimeout(id) {
      pending.delete(id);
    },
    /** Run every timer due now (0 ms), or the next one with `all`. */
    flush() {
      for (const [id, { fn, ms }] of [...pending]) {
        if (ms === 0) {
          pending.delete(id);
          fn();
        }
      }
    },
    delays() {
      return [...pending.values()].map((t) => t.ms);
    },
    runNext() {
      const [id, { fn }] = [...pending][0];
      pending.delete(id);
      fn();
    },
  };
}

const URI = "file:///work/main.py";

function setUp({ texts = { [URI]: "import os\nos.pa" }, timers = fakeTimers() } = {}) {
  const sockets = [];
  const states = [];
  const closes = [];
  let opens = 0;
  const received = [];
  const connection = new PadLspConnection({
    url: "ws://h/ws/pads/p/lsp?key=k&name=Ann",
    getText: (uri) => texts[uri] ?? null,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    timers,
    handlers: {
      state: (help) => states.push(help.state),
      open: () => {
        opens += 1;
      },
      closed: (info) => closes.push(info),
    },
  });
  connection.subscribe((text) => received.push(JSON.parse(text)));
  return { connection, sockets, states, closes, received, timers, opens: () => opens };
}

const completion = (id, uri = URI) => ({
  jsonrpc: "2.0",
  id,
  method: "textDocument/completion",
  params: { textDocument: { uri }, position: { line: 1, character: 5 } },
});

function openReady(setup, state = "ready") {
  setup.connection.start();
  setup.sockets.at(-1).open();
  setup.sockets.at(-1).message({ jsonrpc: "2.0", method: "padbox/state", params: { state, language: "python3", message: "" } });
}

test("a request goes out as one text frame with the hash of its document's text in this page", () => {
  const setup = setUp();
  openReady(setup);
  setup.connection.send(JSON.stringify(completion(7)));
  const [frame] = setup.sockets[0].sent;
  assert.equal(frame.id, 7);
  assert.equal(frame.method, "textDocument/completion");
  assert.deepEqual(frame.params.padbox, { hash: textHash("import os\nos.pa") });
  assert.deepEqual(frame.params.position, { line: 1, character: 5 });
  assert.equal(setup.sockets[0].url, "ws://h/ws/pads/p/lsp?key=k&name=Ann");
});

test("the page's copies of documents stay in the page: the server's document is the only truth", () => {
  const setup = setUp();
  openReady(setup);
  for (const method of ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose", "textDocument/didSave"]) {
    setup.connection.send(JSON.stringify({ jsonrpc: "2.0", method, params: { textDocument: { uri: URI } } }));
  }
  setup.connection.send(JSON.stringify({ jsonrpc: "2.0", method: "initialized", params: {} }));
  setup.connection.send(JSON.stringify({ jsonrpc: "2.0", method: "$/cancelRequest", params: { id: 4 } }));
  assert.deepEqual(
    setup.sockets[0].sent.map((m) => m.method),
    ["initialized", "$/cancelRequest"],
  );
});

test("the server's answers and notifications reach the client; padbox/state reaches the page only", () => {
  const setup = setUp();
  openReady(setup);
  setup.connection.send(JSON.stringify(completion(2)));
  const answer = { jsonrpc: "2.0", id: 2, result: { isIncomplete: false, items: [{ label: "path" }] } };
  setup.sockets[0].message(answer);
  const diagnostics = { jsonrpc: "2.0", method: "textDocument/publishDiagnostics", params: { uri: URI, diagnostics: [] } };
  setup.sockets[0].message(diagnostics);
  assert.deepEqual(setup.received, [answer, diagnostics]);
  assert.deepEqual(setup.states, ["connecting", "ready"]);
  assert.equal(setup.connection.help.language, "python3");
});

test("a refusal becomes the empty answer, and the state it reveals", () => {
  const setup = setUp();
  openReady(setup);
  setup.connection.send(JSON.stringify(completion(5)));
  setup.sockets[0].message({ jsonrpc: "2.0", id: 5, error: { code: -32002, message: "language help is off for this pad" } });
  assert.deepEqual(setup.received, [{ jsonrpc: "2.0", id: 5, result: { isIncomplete: true, items: [] } }]);
  assert.equal(setup.connection.help.state, "off");
  // Off: the next question is answered here at once, and nothing goes to the server.
  setup.connection.send(JSON.stringify({ ...completion(6), method: "textDocument/hover" }));
  setup.timers.flush();
  assert.deepEqual(setup.received.at(-1), { jsonrpc: "2.0", id: 6, result: null });
  assert.equal(setup.sockets[0].sent.length, 1);
});

test("a view socket's forbidden request is an empty answer and leaves the state alone", () => {
  const setup = setUp();
  openReady(setup);
  setup.connection.send(JSON.stringify({ ...completion(8), method: "textDocument/definition" }));
  setup.sockets[0].message({ jsonrpc: "2.0", id: 8, error: { code: -32001, message: "forbidden for the view role" } });
  assert.deepEqual(setup.received, [{ jsonrpc: "2.0", id: 8, result: null }]);
  assert.equal(setup.connection.help.state, "ready");
});

test("while the socket is down a question is answered empty at once, never left waiting", () => {
  const setup = setUp();
  setup.connection.start(); // not open yet
  setup.connection.send(JSON.stringify(completion(1)));
  assert.deepEqual(setup.received, [], "answered after the library has registered its request");
  setup.timers.flush();
  assert.deepEqual(setup.received, [{ jsonrpc: "2.0", id: 1, result: { isIncomplete: true, items: [] } }]);
  assert.equal(setup.sockets[0].frames.length, 0);
});

test("a drop answers every question in flight, then reconnects with a growing pause", () => {
  const setup = setUp();
  openReady(setup);
  setup.connection.send(JSON.stringify(completion(3)));
  setup.connection.send(JSON.stringify({ ...completion(4), method: "textDocument/documentHighlight" }));
  setup.sockets[0].serverClose(1006);
  assert.deepEqual(setup.received, [
    { jsonrpc: "2.0", id: 3, result: { isIncomplete: true, items: [] } },
    { jsonrpc: "2.0", id: 4, result: [] },
  ]);
  assert.equal(setup.connection.help.state, "reconnecting");
  assert.deepEqual(setup.timers.delays(), [500]);
  setup.timers.runNext();
  assert.equal(setup.sockets.length, 2);
  setup.sockets[1].serverClose(1006);
  assert.deepEqual(setup.timers.delays(), [1000]);
  setup.timers.runNext();
  setup.sockets[2].open();
  assert.equal(setup.opens(), 2, "each socket that opens is initialised again");
  setup.sockets[2].message({ jsonrpc: "2.0", method: "padbox/state", params: { state: "ready", language: "python3" } });
  setup.sockets[2].serverClose(1011);
  assert.deepEqual(setup.timers.delays(), [500], "a socket that got a state starts the pauses over");
});

test("a question the server leaves unanswered gets the empty answer at the deadline; a late answer is dropped", () => {
  const setup = setUp();
  openReady(setup);
  setup.connection.send(JSON.stringify(completion(9)));
  const deadline = [...setup.timers.pending.values()].find((t) => t.ms === ANSWER_WITHIN_MS);
  assert.ok(deadline, "a deadline is set for each question sent");
  deadline.fn();
  assert.deepEqual(setup.received, [{ jsonrpc: "2.0", id: 9, result: { isIncomplete: true, items: [] } }]);
  setup.sockets[0].message({ jsonrpc: "2.0", id: 9, result: { isIncomplete: false, items: [{ label: "late" }] } });
  assert.equal(setup.received.length, 1, "the client never hears of it twice");
  // An answer in time clears its deadline.
  setup.connection.send(JSON.stringify(completion(10)));
  setup.sockets[0].message({ jsonrpc: "2.0", id: 10, result: null });
  assert.equal([...setup.timers.pending.values()].filter((t) => t.ms === ANSWER_WITHIN_MS).length, 0);
});

test("a close that trying again cannot mend stops the socket and says help is unavailable", () => {
  const setup = setUp();
  openReady(setup);
  setup.sockets[0].serverClose(4404, "no pad has that id and key");
  assert.equal(setup.closes[0].final, true);
  assert.equal(setup.connection.help.state, "unavailable");
  assert.equal(setup.timers.pending.size, 0);
  assert.equal(setup.sockets.length, 1);
});

test("stop closes the socket and cancels a pending reconnect", () => {
  const setup = setUp();
  openReady(setup);
  setup.connection.stop();
  assert.equal(setup.sockets[0].closedWith, 1000);
  const other = setUp();
  openReady(other);
  other.sockets[0].serverClose(1006);
  other.connection.stop();
  assert.equal(other.timers.pending.size, 0);
});

test("@codemirror/lsp-client initialises and asks through the connection, the hash added on the way", async () => {
  const timers = fakeTimers();
  const setup = setUp({ timers });
  const client = new LSPClient({ timeout: 1000 });
  setup.connection.handlers.open = () => {
    client.disconnect();
    client.connect(setup.connection);
  };
  setup.connection.start();
  const socket = setup.sockets[0];
  socket.open();
  const [initialize] = socket.sent;
  assert.equal(initialize.method, "initialize");
  socket.message({
    jsonrpc: "2.0",
    id: initialize.id,
    result: { capabilities: { textDocumentSync: 2, hoverProvider: true }, serverInfo: { name: "padbox" } },
  });
  socket.message({ jsonrpc: "2.0", method: "padbox/state", params: { state: "ready", language: "python3" } });
  await client.initializing;
  const hover = client.request("textDocument/hover", { textDocument: { uri: URI }, position: { line: 0, character: 1 } });
  await new Promise((resolve) => setImmediate(resolve));
  const asked = socket.sent.find((m) => m.method === "textDocument/hover");
  assert.deepEqual(asked.params.padbox, { hash: textHash("import os\nos.pa") });
  socket.message({ jsonrpc: "2.0", id: asked.id, result: { contents: "module os" } });
  assert.deepEqual(await hover, { contents: "module os" });
  assert.deepEqual(
    socket.sent.map((m) => m.method),
    ["initialize", "initialized", "textDocument/hover"],
  );
});
