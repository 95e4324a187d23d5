"""AgentSandbox (core/agent_sandbox.py) over an in-memory AgentLink: no agent process, no Docker."""

from __future__ import annotations

import asyncio

import pytest

from padbox.core.agent_sandbox import AgentSandbox
from padbox.core.protocol import SourceFile
from padbox.core.sandbox import ProcessExit, SandboxError
from padbox_agent.wire import Kind, encode_json
from tests.eventually import eventually


class MemoryLink:
    """The agent's byte stream as two queues."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.incoming: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def write(self, data: bytes) -> None:
        self.sent.append(data)

    async def read(self) -> bytes | None:
        return await self.incoming.get()

    async def last_word(self) -> ProcessExit | None:
        return None


async def test_writing_files_cancelled_as_the_agent_answers_stays_cancelled() -> None:
    link = MemoryLink()
    sandbox = AgentSandbox(link, "the-run", "memory")
    writing = asyncio.create_task(sandbox.write_files([SourceFile("main.py", "print(1)")]))
    await eventually(
        lambda: link.sent, 1, "FILES sent"
    )  # and the sandbox waits for DONE: nothing between the two awaits
    link.incoming.put_nowait(encode_json(Kind.DONE, {}))
    writing.cancel()  # the client left in the same instant the agent answered
    with pytest.raises(asyncio.CancelledError):
        await writing


async def test_an_agent_that_never_says_ready_is_a_sandbox_error() -> None:
    sandbox = AgentSandbox(MemoryLink(), "the-run", "memory")
    with pytest.raises(SandboxError, match="did not become ready in time"):
        await sandbox.handshake(0.01)
