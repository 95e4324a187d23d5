"""A raw Yjs peer of a pad: a pycrdt Doc speaking the standard y-websocket messages over the `websockets` library,
with no server code in between, as any third-party Yjs client would. The tests, the bench and the soak use it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import Callable
from typing import Any

import websockets
from pycrdt import (
    Doc,
    Map,
    Text,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    read_message,
    write_message,
)
from websockets.asyncio.client import ClientConnection


class YClient:
    """One participant: its own document, kept in sync with the pad's through the server."""

    def __init__(self, connection: ClientConnection, doc: Doc[Any] | None = None) -> None:
        self.connection = connection
        self.doc: Doc[Any] = doc if doc is not None else Doc()
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        self.awareness: list[bytes] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(
        cls,
        ws_base: str,
        pad_id: str,
        key: str,
        name: str = "",
        doc: Doc[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> YClient:
        """A new socket; with `doc`, a reconnection of that document: the sync then sends the server whatever
        of it the server lacks (edits made while disconnected, or never acknowledged), as a Yjs provider does."""
        url = f"{ws_base}/ws/pads/{pad_id}?key={key}" + (f"&name={name}" if name else "")
        connection = await websockets.connect(url, additional_headers=headers, max_size=None)
        client = cls(connection, doc)
        await connection.send(create_sync_message(client.doc))
        return client

    async def _read(self) -> None:
        try:
            async for message in self.connection:
                assert isinstance(message, bytes), "the server sends binary frames only"
                self._handle(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.connection.close_code
            self.close_reason = self.connection.close_reason or ""
            self.changed.set()

    def _handle(self, message: bytes) -> None:
        if message[0] == YMessageType.SYNC:
            payload = read_message(message[2:])
            if message[1] == YSyncMessageType.SYNC_STEP1:
                reply = bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(
                    self.doc.get_update(payload)
                )
                asyncio.get_running_loop().create_task(self._send_quietly(reply))
            else:
                self.doc.apply_update(payload)
                if message[1] == YSyncMessageType.SYNC_STEP2:
                    self.synced.set()
        elif message[0] == YMessageType.AWARENESS:
            self.awareness.append(read_message(message[1:]))
        self.changed.set()

    async def _send_quietly(self, message: bytes) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.connection.send(message)

    async def edit(self, change: Callable[[Doc[Any]], None]) -> bytes:
        """Change the local document and send the change as one update; returns the update."""
        before = self.doc.get_state()
        change(self.doc)
        update = self.doc.get_update(before)
        await self.connection.send(create_update_message(update))
        return update

    async def roundtrip(self, timeout: float = 5) -> None:
        """Ask the server for what this client lacks (sync step 1) and wait for its answer: the server reads a
        socket's messages in order, so every message sent before has been handled by then."""
        self.synced.clear()
        await self.connection.send(create_sync_message(self.doc))
        async with asyncio.timeout(timeout):
            await self.synced.wait()

    async def send_raw(self, message: bytes) -> None:
        await self.connection.send(message)

    def files(self) -> dict[str, str]:
        return {name: str(text) for name, text in self.doc.get("files", type=Map).items()}

    def meta(self) -> dict[str, Any]:
        return dict(self.doc.get("meta", type=Map))

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                if condition():
                    return
                if self.close_code is not None and not condition():
                    raise AssertionError(f"closed ({self.close_code} {self.close_reason}) before the condition held")
                await self.changed.wait()

    async def closed(self, timeout: float = 5) -> int:
        """The close code the server sent, once it closed the socket."""
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._reader)
        assert self.close_code is not None, "the socket ended without a close frame"
        return self.close_code

    async def close(self) -> None:
        await self.connection.close()
        with contextlib.suppress(Exception):
            await self._reader

    async def __aenter__(self) -> YClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def append(file: str, text: str) -> Callable[[Doc[Any]], None]:
    """An edit: `text` added at the end of `file` (made if missing)."""

    def change(doc: Doc[Any]) -> None:
        files = doc.get("files", type=Map)
        if file not in files:
            files[file] = Text()
        body = files[file]
        body += text

    return change


def replace(file: str, text: str) -> Callable[[Doc[Any]], None]:
    """An edit: `file`'s whole text replaced by `text`, as an editor selecting all and typing it."""

    def change(doc: Doc[Any]) -> None:
        body = doc.get("files", type=Map)[file]
        del body[0 : len(str(body))]
        body += text

    return change


class Events:
    """A pad's events socket, its JSON messages collected."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.messages: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(
        cls, ws_base: str, pad_id: str, key: str, name: str = "", headers: dict[str, str] | None = None
    ) -> Events:
        url = f"{ws_base}/ws/pads/{pad_id}/events?key={key}" + (f"&name={name}" if name else "")
        return cls(await websockets.connect(url, additional_headers=headers))

    async def _read(self) -> None:
        try:
            async for message in self.connection:
                self.messages.append(json.loads(message))
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._arrived.set()

    async def next_of(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        """The first message of a type not yet taken."""
        async with asyncio.timeout(timeout):
            while True:
                for index, message in enumerate(self.messages):
                    if message["type"] == kind:
                        return self.messages.pop(index)
                if self._reader.done():
                    raise AssertionError(f"the events socket closed before a {kind!r} message")
                self._arrived.clear()
                await self._arrived.wait()

    async def send(self, message: dict[str, Any]) -> None:
        """An action (padbox.pads.messages: run_tests)."""
        await self.connection.send(json.dumps(message))

    async def close(self) -> None:
        await self.connection.close()
        with contextlib.suppress(Exception):
            await self._reader


def text_hash(text: str) -> str:
    """The language-help socket's document hash (docs/pads.md): FNV-1a 32-bit over UTF-16 code units."""
    data = text.encode("utf-16-le", "surrogatepass")
    h = 0x811C9DC5
    for unit in struct.unpack(f"<{len(data) // 2}H", data):
        h = ((h ^ unit) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


class LspClient:
    """A pad's language-help socket: JSON-RPC requests with their answers, and the server's notifications
    (`padbox/state`, `textDocument/publishDiagnostics`) collected in order."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.notifications: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = 0
        self._arrived = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(
        cls, ws_base: str, pad_id: str, key: str, name: str = "", headers: dict[str, str] | None = None
    ) -> LspClient:
        """A new socket, initialized (its `initialize` answered)."""
        url = f"{ws_base}/ws/pads/{pad_id}/lsp?key={key}" + (f"&name={name}" if name else "")
        client = cls(await websockets.connect(url, additional_headers=headers, max_size=None))
        await client.request("initialize", {"processId": None, "rootUri": "file:///work", "capabilities": {}})
        await client.notify("initialized", {})
        return client

    async def _read(self) -> None:
        try:
            async for message in self.connection:
                body = json.loads(message)
                if "method" in body:
                    self.notifications.append(body)
                elif isinstance(body.get("id"), int) and body["id"] in self._answers:
                    self._answers.pop(body["id"]).set_result(body)
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.connection.close_code
            self._arrived.set()

    async def request(self, method: str, params: Any, timeout: float = 60) -> dict[str, Any]:
        """The whole answer ({"result": ...} or {"error": ...})."""
        self._ids += 1
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[self._ids] = answer
        await self.connection.send(json.dumps({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}))
        async with asyncio.timeout(timeout):
            return await answer

    async def notify(self, method: str, params: Any) -> None:
        await self.connection.send(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}))

    async def ask(
        self, method: str, file: str, text: str, line: int, character: int, timeout: float = 60, **extra: Any
    ) -> dict[str, Any]:
        """A position request against `text` (the page's copy of `file`), with its hash as the contract wants."""
        params = {
            "textDocument": {"uri": f"file:///work/{file}"},
            "position": {"line": line, "character": character},
            "padbox": {"hash": text_hash(text)},
            **extra,
        }
        return await self.request(method, params, timeout)

    def states(self) -> list[str]:
        return [n["params"]["state"] for n in self.notifications if n["method"] == "padbox/state"]

    def diagnostics(self, file: str) -> list[dict[str, Any]] | None:
        """The last diagnostics published for `file` (None if none yet)."""
        uri = f"file:///work/{file}"
        found = None
        for note in self.notifications:
            if note["method"] == "textDocument/publishDiagnostics" and note["params"]["uri"] == uri:
                found = note["params"]["diagnostics"]
        return found

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 60) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                if self._reader.done():
                    raise AssertionError(f"the language-help socket closed ({self.close_code}) first")
                self._arrived.clear()
                if condition():
                    return
                await self._arrived.wait()

    async def closed(self, timeout: float = 5) -> int | None:
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._reader)
        return self.close_code

    async def close(self) -> None:
        await self.connection.close()
        with contextlib.suppress(Exception):
            await self._reader

    async def __aenter__(self) -> LspClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
