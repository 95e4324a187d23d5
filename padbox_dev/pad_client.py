"""A raw Yjs peer of a pad: a pycrdt Doc speaking the standard y-websocket messages over the `websockets` library,
with no server code in between, as any third-party Yjs client would. The tests, the bench and the soak use it."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
