"""A Sandbox that talks to padbox's agent (runner-image/agent) over a byte stream.

Every backend whose sandboxes run the agent (a Docker container's attached stdio today) supplies
only an `AgentLink`: the bytes in and out, and what the backend knows when the stream ends. The
agent's framing, its handshake, the authentication of EXIT frames and the liveness check live here once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from padbox.core.protocol import SourceFile
from padbox.core.sandbox import (
    OutputChunk,
    ProcessExit,
    ProcessSpec,
    SandboxError,
    SandboxEvent,
    SandboxLost,
    Stream,
)
from padbox_agent.wire import ExitVerifier, FrameDecoder, FrameError, Kind, decode_json, encode, json_payload

log = logging.getLogger("padbox.agent")

FILES_TIMEOUT_S = 30.0
RENEW_TIMEOUT_S = 10.0
STREAM_OF = {Kind.STDOUT: Stream.STDOUT, Kind.STDERR: Stream.STDERR}


@dataclass(frozen=True)
class Liveness:
    """How a silent program is told from a lost sandbox while a process runs: after `ping_s` without a word
    from the agent the server sends PING, which the agent answers at once whatever the program does; after
    `timeout_s` without any frame at all the sandbox is lost (SIGSTOPped, starved, its engine or node gone).
    A program that prints costs nothing: only silence is pinged."""

    ping_s: float = 2.0
    timeout_s: float = 10.0


class AgentLink(Protocol):
    """The backend's byte stream to one agent."""

    async def write(self, data: bytes) -> None:
        """Send bytes to the agent; SandboxError when the stream is gone (SandboxLost when the backend did
        not close it itself)."""
        ...

    async def read(self) -> bytes | None:
        """The agent's next output bytes; None once its output has ended."""
        ...

    async def last_word(self) -> ProcessExit | None:
        """When the output ended without an EXIT: what the backend knows of how the sandbox died
        (the kernel killed it for its memory, say), or None."""
        ...


def exit_of(info: dict[str, Any]) -> ProcessExit:
    """An EXIT payload as a ProcessExit; a wrongly typed field is a sandbox error, not a crash."""

    def optional(name: str, kind: type) -> Any:
        value = info.get(name)
        # bool is an int in Python, but not in an exit report
        wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if value is not None and wrong:
            raise SandboxError(f"the sandbox reported a malformed exit ({name}={value!r})")
        return value

    return ProcessExit(
        code=optional("code", int),
        signal=optional("signal", str),
        wall_ms=optional("wall_ms", int),
        cpu_ms=optional("cpu_ms", int),
        memory_bytes=optional("memory_bytes", int),
        oom=optional("oom", bool),
    )


class AgentSandbox:
    """The run engine's Sandbox, spoken as agent frames over an AgentLink."""

    def __init__(self, link: AgentLink, run_id: str, name: str, liveness: Liveness = Liveness()) -> None:
        self.link = link
        self.name = name  # for logs: the backend's own id of the sandbox
        self.liveness = liveness
        self._run_id = run_id
        self._reading: asyncio.Task[bytes | None] | None = None  # the link's read under way
        self._decoder = FrameDecoder()
        self._pending: deque[tuple[Kind, bytes]] = deque()
        self._ended = False
        self._final: ProcessExit | None = None  # the backend's account of an ending without EXIT
        self._key = secrets.token_bytes(32)  # given to the agent before any program runs
        self._exits = ExitVerifier(self._key)
        # "namespace": the agent gives every run a fresh box and the container may host another run after this
        # one (renew); "container": one run, then removal. The agent says which in READY.
        self.isolation = "container"
        self.why_not_namespace = ""
        self.runs = 1  # runs this container has hosted, the current one included
        self.born = asyncio.get_running_loop().time()

    @property
    def run_id(self) -> str:
        return self._run_id

    # --- the handshake --------------------------------------------------------------------------
    async def handshake(self, timeout_s: float) -> None:
        """Wait for the agent's READY, then hand it the key that signs its EXIT frames."""
        try:
            ready = await self._expect(Kind.READY, timeout_s)
        except TimeoutError:
            raise SandboxError("the sandbox did not become ready in time") from None
        self.isolation = "namespace" if ready.get("isolation") == "namespace" else "container"
        self.why_not_namespace = str(ready.get("why", ""))
        await self._send(Kind.KEY, self._key)

    async def renew(self, run_id: str) -> str:
        """After a run that ended normally: the agent destroys the run's box and prepares a fresh one, so the
        container can host the next run, known by `run_id`. "" when the run left the container clean, else
        why not (then the container must go); SandboxError when the agent fails or does not answer."""
        await self._send(Kind.RESET)
        try:
            ready = await self._expect(Kind.READY, RENEW_TIMEOUT_S)
        except TimeoutError:
            raise SandboxError("the sandbox did not prepare the next run in time") from None
        if ready.get("clean") is not True:
            return str(ready.get("why") or "the agent did not say the run left it clean")
        self._run_id = run_id
        self.runs += 1
        return ""

    # --- Sandbox --------------------------------------------------------------------------------
    async def write_files(self, files: Sequence[SourceFile]) -> None:
        await self._send_json(Kind.FILES, {"files": [{"name": f.name, "content": f.content} for f in files]})
        try:
            await self._expect(Kind.DONE, FILES_TIMEOUT_S)
        except TimeoutError:
            raise SandboxError("the sandbox did not write the files in time") from None

    async def execute(self, spec: ProcessSpec) -> None:
        self._exits.begin_stage()
        await self._send_json(
            Kind.EXEC,
            {
                "argv": list(spec.argv),
                "env": dict(spec.env),
                "tty": spec.tty,
                "cols": spec.cols,
                "rows": spec.rows,
                "cpu_time_s": spec.cpu_time_s,
            },
        )

    async def write_stdin(self, data: bytes) -> None:
        await self._send(Kind.STDIN, data)

    async def close_stdin(self) -> None:
        await self._send(Kind.EOF)

    async def send_signal(self, number: int) -> None:
        await self._send_json(Kind.SIGNAL, {"signal": number})

    async def resize(self, cols: int, rows: int) -> None:
        await self._send_json(Kind.RESIZE, {"cols": cols, "rows": rows})

    async def stop(self) -> None:
        await self._send(Kind.KILL)

    async def next_event(self) -> SandboxEvent | None:
        while True:
            frame = await self._next_frame(watch=True)
            if frame is None:
                final, self._final = self._final, None
                return final
            kind, payload = frame
            if kind in STREAM_OF:
                return OutputChunk(STREAM_OF[kind], payload)
            if kind == Kind.EXIT:
                return exit_of(self._control(payload))
            if kind == Kind.FAIL:
                raise SandboxError(str(self._control(payload).get("message", "the sandbox failed")))
            raise SandboxError(f"the sandbox sent {kind.name} while a process ran")

    # --- frames ---------------------------------------------------------------------------------
    def mark_ended(self) -> None:
        """The backend removed the sandbox: whatever the stream still says is not waited for."""
        self._ended = True

    async def _send(self, kind: Kind, payload: bytes = b"") -> None:
        await self.link.write(encode(kind, payload))

    async def _send_json(self, kind: Kind, obj: dict[str, Any]) -> None:
        await self._send(kind, json_payload(obj))

    @staticmethod
    def _control(payload: bytes) -> dict[str, Any]:
        try:
            return decode_json(payload)
        except FrameError as exc:
            raise SandboxError(f"the sandbox sent a malformed control frame: {exc}") from None

    async def _expect(self, wanted: Kind, timeout_s: float) -> dict[str, Any]:
        """One control frame (READY, DONE); anything else is the agent failing."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that lands as the
        # frame arrives, and a run whose client left in that instant went on to run its program.
        async with asyncio.timeout(timeout_s):
            frame = await self._next_frame()
        if frame is None:
            raise SandboxLost("it ended before it answered")
        kind, payload = frame
        if kind == Kind.FAIL:
            raise SandboxError(str(self._control(payload).get("message", "the sandbox failed")))
        if kind != wanted:
            raise SandboxError(f"the sandbox sent {kind.name} where {wanted.name} was expected")
        return self._control(payload)

    async def _next_frame(self, watch: bool = False) -> tuple[Kind, bytes] | None:
        """The next frame; None once the stream has ended. `watch`: a process runs, so silence is checked."""
        while not self._pending:
            if self._ended:
                return None
            data = await self._read(watch)
            if data is None:
                self._ended = True
                self._final = await self.link.last_word()
                return None
            try:
                frames = self._decoder.feed(data)
            except FrameError as exc:
                raise SandboxError(f"garbled frame from the sandbox: {exc}") from exc
            self._pending.extend(frame for frame in map(self._authentic, frames) if frame is not None)
        return self._pending.popleft()

    async def _read(self, watch: bool) -> bytes | None:
        """The link's next bytes. The read runs in a task of its own that a caller's timeout does not cancel,
        so no read is cut in half: the next call takes up the same read."""
        reading = self._reading
        if reading is None:
            reading = self._reading = asyncio.ensure_future(self.link.read())
            reading.add_done_callback(_retrieved)
        if watch:
            await self._hear_from_agent(reading)
        try:
            return await asyncio.shield(reading)
        finally:
            if reading.done():
                self._reading = None

    async def _hear_from_agent(self, reading: asyncio.Task[bytes | None]) -> None:
        """Return once the read has something (or has ended); ping the agent while it is quiet, and declare
        the sandbox lost when nothing at all arrives for the liveness timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.liveness.timeout_s
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise SandboxLost(f"its agent did not answer for {self.liveness.timeout_s:g} s")
            done, _ = await asyncio.wait({reading}, timeout=min(self.liveness.ping_s, left))
            if done:
                return
            if loop.time() < deadline:
                try:
                    await self._send(Kind.PING)
                except SandboxError as exc:  # the read, or the deadline, says what became of the sandbox
                    log.info("sandbox %s: could not ping the agent: %s", self.name, exc)

    def _authentic(self, frame: tuple[Kind, bytes]) -> tuple[Kind, bytes] | None:
        """An EXIT without the agent's MAC was written by the program itself: drop it (the real one follows).
        A PONG has done its work by arriving (it reset the silence): nothing to pass on."""
        kind, payload = frame
        if kind == Kind.PONG:
            return None
        if kind != Kind.EXIT:
            return frame
        result = self._exits.verify(payload)
        if result is None:
            log.warning("sandbox %s: dropped a forged EXIT frame", self.name)
            return None
        return kind, result


def _retrieved(task: asyncio.Task[bytes | None]) -> None:
    """A read abandoned with its sandbox (lost, then removed) may end in an error nobody awaits: take it."""
    if not task.cancelled():
        task.exception()
