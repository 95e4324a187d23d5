"""A small WebSocket client for tests: send a run, feed input, collect frames with timestamps."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection


@dataclass
class Frame:
    at: float  # seconds since the run message was sent
    message: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.message.get("type"))


@dataclass
class Transcript:
    frames: list[Frame] = field(default_factory=list)
    close_code: int | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f.message for f in self.frames if f.type == kind]

    def text(self, stream: str = "stdout", stage: str | None = None) -> str:
        return "".join(m["data"] for m in self.of(stream) if stage is None or m["stage"] == stage)

    def exits(self) -> dict[str, dict[str, Any]]:
        return {m["stage"]: m for m in self.of("exit")}

    @property
    def verdict(self) -> str:
        return str(self.of("exit")[-1]["verdict"])

    @property
    def error(self) -> dict[str, Any]:
        errors = self.of("error")
        assert errors, f"expected an error frame, got {self.frames}"
        return errors[0]


class Client:
    """One socket; `collect` reads until the server closes it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.start = time.monotonic()
        self.transcript = Transcript()

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        if isinstance(message, dict):
            message = json.dumps(message)
        await self.ws.send(message)

    async def run(self, **fields: Any) -> None:
        self.start = time.monotonic()
        await self.send({"type": "run", **fields})

    async def next(self, timeout: float = 30) -> Frame | None:
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as closed:
            self.transcript.close_code = closed.rcvd.code if closed.rcvd else None
            return None
        frame = Frame(time.monotonic() - self.start, json.loads(raw))
        self.transcript.frames.append(frame)
        return frame

    async def until(self, predicate: Any, timeout: float = 30) -> Frame:
        """Read frames until one satisfies predicate(frame)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.next(max(0.01, deadline - time.monotonic()))
            if frame is None:
                raise AssertionError(f"socket closed before the expected frame; got {self.transcript.frames}")
            if predicate(frame):
                return frame

    async def until_output(self, text: str, timeout: float = 30) -> Frame:
        await self.until(lambda f: text in self.transcript.text("stdout") + self.transcript.text("stderr"), timeout)
        return self.transcript.frames[-1]

    async def collect(self, timeout: float = 60) -> Transcript:
        deadline = time.monotonic() + timeout
        while await self.next(max(0.01, deadline - time.monotonic())) is not None:
            pass
        return self.transcript


def connect(ws_url: str, **kwargs: Any) -> Any:
    return websockets.connect(ws_url, max_size=None, **kwargs)


def connect_slow_reader(ws_url: str) -> Any:
    """A client that stops reading for real: a small, fixed kernel receive buffer (no autotuning up to
    tens of MB) and a one-frame queue, so what it does not read backs up into the server."""
    host, port = ws_url.split("//", 1)[1].split("/", 1)[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.connect((host, int(port)))
    return websockets.connect(ws_url, max_size=None, max_queue=1, sock=sock)


async def run_program(ws_url: str, *inputs: dict[str, Any], timeout: float = 60, **run: Any) -> Transcript:
    """Send one run (and any follow-up messages at once), then read to the close."""
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(**run)
        for message in inputs:
            await client.send(message)
        return await client.collect(timeout)
