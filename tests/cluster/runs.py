"""Runs through the cluster, kept open while a test works with them."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from padbox.client import Client, connect
from padbox.core.cluster import owner_of

WAITS_FOR_A_LINE = "print('got', input(), flush=True)"


@dataclass
class OpenRun:
    client: Client
    started: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.started["id"])

    @property
    def owner(self) -> str:
        owner = owner_of(self.id)
        assert owner is not None, f"run id {self.id} names no node"
        return owner

    @property
    def driver_key(self) -> str:
        return str(self.started["driver_key"])


async def open_run(stack: AsyncExitStack, url: str, token: str, source: str = WAITS_FOR_A_LINE) -> OpenRun:
    """A run that waits for a line of input, its socket held open by `stack`."""
    ws = await stack.enter_async_context(connect(url, token=token))
    client = Client(ws)
    await client.run(language="python", source=source)
    frame = await client.until(lambda f: f.type in ("started", "error"), timeout=60)
    assert frame.type == "started", frame.message
    return OpenRun(client, frame.message)


async def finish(run: OpenRun, line: str = "x") -> None:
    """Give the run its line; it prints it and ends with `ok`."""
    await run.client.stdin(line + "\n")
    transcript = await run.client.collect(30)
    assert f"got {line}" in transcript.text() and transcript.verdict == "ok", transcript.frames
