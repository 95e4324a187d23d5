"""A padbox WebSocket client: open a socket, send a run and its input, read every frame with its time.

The `padbox run` CLI, the test suite and the benchmark all speak the protocol through this module, and
every message name comes from padbox.core.protocol, so no client can send or wait on a name the server
does not use. Times are monotonic seconds since the client sent its `run` (or `join`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as open_socket

from padbox.core.protocol import ClientType, CloseCode, Role, ServerType, Signal

DEFLATE = "deflate"
# A loaded server (or a shared CI machine) can be slow to answer the handshake; that is not a failure.
OPEN_TIMEOUT_S = 30.0
CLEAN_CLOSES = (CloseCode.NORMAL, CloseCode.GOING_AWAY)


def connect(
    url: str,
    *,
    token: str | None = None,
    compression: str | None = DEFLATE,
    max_size: int | None = None,
    open_timeout: float = OPEN_TIMEOUT_S,
    **options: Any,
) -> open_socket:
    """A client socket to open with `async with`.

    permessage-deflate is offered by default, as browsers do (`compression=None` turns it off). Incoming
    frames have no size limit by default: bounding a run's output is the server's job (`output_kb`).
    A token travels in the Authorization header rather than the URL, which proxies and servers log.
    Other `options` go to websockets' `connect` as they are (subprotocols, origin, max_queue, sock...).
    """
    if token is not None:
        options["additional_headers"] = {**options.get("additional_headers", {}), "Authorization": f"Bearer {token}"}
    return open_socket(url, compression=compression, max_size=max_size, open_timeout=open_timeout, **options)


@dataclass(frozen=True)
class Frame:
    """One message from the server and when it arrived."""

    at: float  # seconds since the run (or join) was sent
    message: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.message.get("type"))


@dataclass
class Transcript:
    """What a client received, in order, and how the socket closed: the record tests and the bench judge."""

    frames: list[Frame] = field(default_factory=list)
    closed: bool = False
    close_code: int | None = None  # the code the server sent; None also when it closed without one

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The messages of one `ServerType`."""
        return [f.message for f in self.frames if f.type == kind]

    def first(self, kind: str) -> Frame | None:
        return next((f for f in self.frames if f.type == kind), None)

    def last(self, kind: str) -> Frame | None:
        return next((f for f in reversed(self.frames) if f.type == kind), None)

    def text(self, stream: str = ServerType.STDOUT, stage: str | None = None) -> str:
        """All output of one stream, of one stage or of both."""
        return "".join(m["data"] for m in self.of(stream) if stage is None or m["stage"] == stage)

    def exits(self) -> dict[str, dict[str, Any]]:
        """Each stage's `exit` message, by stage."""
        return {m["stage"]: m for m in self.of(ServerType.EXIT)}

    @property
    def verdict(self) -> str | None:
        """The last stage's verdict; None if no stage ended."""
        ended = self.last(ServerType.EXIT)
        return None if ended is None else str(ended.message["verdict"])

    @property
    def run_id(self) -> str | None:
        started = self.first(ServerType.STARTED)
        return None if started is None else str(started.message["id"])

    @property
    def error(self) -> dict[str, Any]:
        """The first `error` message; its absence is a surprise worth a readable failure."""
        refusal = self.first(ServerType.ERROR)
        if refusal is None:
            raise LookupError(f"expected an error frame, got {self.frames}")
        return refusal.message

    @property
    def lost(self) -> bool:
        """The socket dropped with no close frame, no `error` and no final `exit`: the server running the
        program died under it (in a cluster, its node), which is never how a program ends. Joining the run
        again through the front then answers `run_lost`."""
        return self.closed and self.close_code is None and not self.of(ServerType.ERROR)

    @property
    def closed_cleanly(self) -> bool:
        """Closed with 1000 (the run is over) or 1001 (the server is going away), not dropped or refused."""
        return self.closed and self.close_code in CLEAN_CLOSES


class ClosedEarly(ConnectionError):
    """The server closed the socket before the frame a caller was waiting for."""


class Client:
    """One socket and everything it received; `collect` reads until the server closes it.

    `keep_frames=False` reads without remembering (the CLI: a long session's output would only pile up);
    the close is still recorded, but `until_output` then sees nothing.
    """

    def __init__(self, ws: ClientConnection, keep_frames: bool = True) -> None:
        self.ws = ws
        self.keep_frames = keep_frames
        self.start = time.monotonic()
        self.transcript = Transcript()

    async def send(self, message: Mapping[str, Any] | str | bytes) -> None:
        """Send a message; text and bytes go as they are, so tests can send what no client should."""
        if isinstance(message, Mapping):
            # ASCII-escaped JSON is valid UTF-8 whatever the text holds (even lone surrogates).
            message = json.dumps(message)
        await self.ws.send(message)

    async def _begin(self, message: Mapping[str, Any]) -> None:
        """Send the first message and start the clock; encoding happens before, so it is not timed."""
        text = json.dumps(message)
        self.start = time.monotonic()
        await self.ws.send(text)

    async def run(self, **fields: Any) -> None:
        """Send `run` (language, source or files, stdin, tty, limits...) and start the clock."""
        await self._begin({"type": ClientType.RUN, **fields})

    async def join(self, run_id: str, key: str, role: Role | str) -> None:
        """Join a shared run, as driver or viewer, and start the clock."""
        await self._begin({"type": ClientType.JOIN, "id": run_id, "key": key, "role": role})

    async def stdin(self, data: str) -> None:
        await self.send({"type": ClientType.STDIN, "data": data})

    async def eof(self) -> None:
        await self.send({"type": ClientType.EOF})

    async def signal(self, name: Signal | str) -> None:
        await self.send({"type": ClientType.SIGNAL, "signal": name})

    async def resize(self, cols: int, rows: int) -> None:
        await self.send({"type": ClientType.RESIZE, "cols": cols, "rows": rows})

    async def next(self, timeout: float | None = 30) -> Frame | None:
        """The next frame, or None once the server has closed the socket (its close code is recorded).

        Raises TimeoutError if nothing arrives within `timeout` seconds (None: wait for ever).
        """
        try:
            async with asyncio.timeout(timeout):  # not wait_for, which can swallow a cancellation on 3.11
                raw = await self.ws.recv()
        except websockets.ConnectionClosed as closed:
            self.transcript.closed = True
            self.transcript.close_code = closed.rcvd.code if closed.rcvd else None
            return None
        frame = Frame(time.monotonic() - self.start, json.loads(raw))
        if self.keep_frames:
            self.transcript.frames.append(frame)
        return frame

    async def until(self, predicate: Callable[[Frame], bool], timeout: float | None = 30) -> Frame:
        """Read frames until one satisfies `predicate`; ClosedEarly if the socket closes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frame = await self.next(_left(deadline))
            if frame is None:
                raise ClosedEarly(f"socket closed before the expected frame; got {self.transcript.frames}")
            if predicate(frame):
                return frame

    async def until_output(self, text: str, timeout: float | None = 30) -> Frame:
        """Read until `text` has appeared in stdout and stderr together (it may span frames)."""
        return await self.until(
            lambda f: text in self.transcript.text(ServerType.STDOUT) + self.transcript.text(ServerType.STDERR), timeout
        )

    async def collect(self, timeout: float | None = 60) -> Transcript:
        """Read until the server closes the socket; TimeoutError if it has not within `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while await self.next(_left(deadline)) is not None:
            pass
        return self.transcript


def _left(deadline: float | None) -> float | None:
    """Seconds until a deadline (at least a moment, so a late frame already queued is still read)."""
    return None if deadline is None else max(0.01, deadline - time.monotonic())


async def run_program(
    url: str,
    *inputs: Mapping[str, Any],
    timeout: float | None = 60,
    token: str | None = None,
    compression: str | None = DEFLATE,
    **run: Any,
) -> Transcript:
    """A whole run on a socket of its own: send `run` and any follow-up messages at once, read to the close."""
    async with connect(url, token=token, compression=compression) as ws:
        client = Client(ws)
        await client.run(**run)
        for message in inputs:
            await client.send(message)
        return await client.collect(timeout)
