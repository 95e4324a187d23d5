"""The bench's side of the padbox protocol: one run per socket, timed with the monotonic clock.

Message names come from padbox.core.protocol, so the bench can never ask for or wait on a name the server does not use.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets
import websockets.asyncio.client
from padbox.core.protocol import ClientType, ServerType, Stage
from websockets.asyncio.client import ClientConnection


class RunFailed(RuntimeError):
    """The server refused or broke a run: the measurement would be meaningless, so the bench stops."""


DEFLATE = "deflate"


def connect(url: str, compression: str | None = DEFLATE) -> websockets.asyncio.client.connect:
    """A client socket; by default as the web pad's browser and the CLI open one, offering permessage-deflate."""
    return websockets.asyncio.client.connect(url, max_size=None, open_timeout=30, compression=compression)


def run_message(source: str, **fields: Any) -> str:
    return json.dumps({"type": ClientType.RUN, "language": "python", "source": source, **fields})


@dataclass
class RunTiming:
    """One run as the client saw it, in seconds from sending `run`."""

    session: str = ""
    first_output_s: float | None = None
    last_output_s: float | None = None
    exit_s: float | None = None
    stdout_chars: int = 0
    verdict: str | None = None
    frames: int = 0
    errors: list[str] = field(default_factory=list)


async def receive(ws: ClientConnection) -> dict[str, Any] | None:
    """The next message, or None once the server has closed the socket."""
    try:
        raw = await ws.recv()
    except websockets.ConnectionClosedOK:
        return None
    except websockets.ConnectionClosed as closed:
        raise RunFailed(f"the socket closed abnormally: {closed}") from closed
    message = json.loads(raw)
    if not isinstance(message, dict):
        raise RunFailed(f"not a message object: {raw!r}")
    return message


async def timed_run(ws: ClientConnection, message: str, until: ServerType | None = None) -> RunTiming:
    """Send `run` on an open socket and read until `until` arrives (None: until the server closes).

    Only the protocol is timed, not the socket's opening, so padbox's figure is comparable with
    starting a process; callers that want the connection in the figure time it themselves.
    """
    timing = RunTiming()
    started = time.perf_counter()
    await ws.send(message)
    while (msg := await receive(ws)) is not None:
        now = time.perf_counter() - started
        timing.frames += 1
        kind = msg.get("type")
        if kind == ServerType.STARTED:
            timing.session = str(msg["id"])
        elif kind == ServerType.STDOUT:
            timing.stdout_chars += len(msg["data"])
            timing.last_output_s = now
            if timing.first_output_s is None:
                timing.first_output_s = now
        elif kind == ServerType.EXIT and msg.get("stage") == Stage.RUN:
            timing.exit_s = now
            timing.verdict = str(msg["verdict"])
        elif kind == ServerType.ERROR:
            raise RunFailed(f"padbox refused the run: {msg.get('code')}: {msg.get('message')}")
        if kind == until:
            break
    return timing


async def run_once(url: str, message: str, until: ServerType | None = None,
                   compression: str | None = DEFLATE) -> RunTiming:
    """A whole run on a socket of its own: connect, run, read until `until` or the close."""
    async with connect(url, compression) as ws:
        return await timed_run(ws, message, until)
