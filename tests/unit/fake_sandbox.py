"""An in-memory SandboxBackend and Sandbox: the run engine's tests script what the "process" does.

A program is a list of steps, one program per stage (the nth `execute` runs the nth program): write
to stdout or stderr, sleep, echo stdin until end-of-file, wait for end-of-file, hang, end with a
ProcessExit (its code, signal and usage, as a real sandbox reports them), or take the whole sandbox
down. A program whose steps run out exits 0. Everything the engine sends is recorded for the test
to read. No Docker, no subprocess, no real time beyond the sleeps a test asks for.
"""

from __future__ import annotations

import asyncio
import signal
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from padbox.core.limits import Limits
from padbox.core.protocol import SourceFile
from padbox.core.sandbox import (
    KILLED,
    Origin,
    OutputChunk,
    ProcessExit,
    ProcessSpec,
    Sandbox,
    SandboxBackend,
    SandboxError,
    SandboxEvent,
    Stream,
)


@dataclass(frozen=True)
class Write:
    data: bytes
    stream: Stream = Stream.STDOUT


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Echo:
    """Copy each piece of stdin to stdout as it arrives, until end-of-file."""


@dataclass(frozen=True)
class AwaitEof:
    """Read stdin, discarding it, until end-of-file."""


@dataclass(frozen=True)
class Hang:
    """Do nothing until stopped, signalled or removed."""


@dataclass(frozen=True)
class Vanish:
    """The whole sandbox dies under the process (the engine restarted, say): next_event answers None."""


@dataclass(frozen=True)
class Fail:
    """The sandbox reports a failure of its own: next_event raises SandboxError."""

    message: str


Step = Write | Sleep | Echo | AwaitEof | Hang | Vanish | Fail | ProcessExit
Program = Sequence[Step]

EXITED_0 = ProcessExit(code=0, signal=None)


class FakeSandbox:
    """One sandbox: runs its programs in order and records everything it was sent."""

    def __init__(
        self, run_id: str, limits: Limits, origin: Origin, programs: Sequence[Program], ignores_stop: bool = False
    ) -> None:
        self._run_id = run_id
        self.limits = limits
        self.origin = origin
        self.scripted = tuple(programs)
        self.programs = deque(programs)
        self.runs = 1
        self.ignores_stop = ignores_stop  # a sandbox whose stop() does nothing: only removal ends it
        self.files_error: str | None = None  # write_files raises SandboxError with this
        self.files_delay_s = 0.0  # how long write_files takes
        self.gone = False
        # What the engine sent, in order.
        self.files: list[SourceFile] = []
        self.specs: list[ProcessSpec] = []
        self.stdin: list[bytes | None] = []  # None: end-of-file
        self.signals: list[int] = []
        self.resizes: list[tuple[int, int]] = []
        self.stops = 0
        self.discards = 0
        self.writing_files = False  # write_files has begun
        self._events: asyncio.Queue[SandboxEvent | SandboxError | None] = asyncio.Queue()
        self._input: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._process: asyncio.Task[None] | None = None

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def running(self) -> bool:
        return self._process is not None

    def _alive(self) -> None:
        if self.gone:
            raise SandboxError("the sandbox is gone")

    async def write_files(self, files: Sequence[SourceFile]) -> None:
        self.writing_files = True
        await asyncio.sleep(self.files_delay_s)  # a real sandbox awaits its agent here; a cancellation can land
        self._alive()
        if self.files_error is not None:
            raise SandboxError(self.files_error)
        self.files.extend(files)

    async def execute(self, spec: ProcessSpec) -> None:
        self._alive()
        assert self._process is None, "a sandbox runs one process at a time"
        assert self.programs, f"no program scripted for process #{len(self.specs) + 1}"
        self.specs.append(spec)
        self._input = asyncio.Queue()
        self._process = asyncio.get_running_loop().create_task(self._run(self.programs.popleft()))

    async def write_stdin(self, data: bytes) -> None:
        self._alive()
        self.stdin.append(data)
        self._input.put_nowait(data)

    async def close_stdin(self) -> None:
        self._alive()
        self.stdin.append(None)
        self._input.put_nowait(None)

    async def send_signal(self, number: int) -> None:
        self._alive()
        self.signals.append(number)
        self._end(ProcessExit(code=None, signal=signal.Signals(number).name))

    async def resize(self, cols: int, rows: int) -> None:
        self._alive()
        self.resizes.append((cols, rows))

    async def stop(self) -> None:
        self._alive()
        self.stops += 1
        if not self.ignores_stop:
            self._end(KILLED)

    async def next_event(self) -> SandboxEvent | None:
        if self.gone:
            return None
        event = await self._events.get()
        if isinstance(event, SandboxError):
            raise event
        return event

    # --- the "process" -----------------------------------------------------------------------------
    async def _run(self, program: Program) -> None:
        for step in program:
            if isinstance(step, Write):
                self._events.put_nowait(OutputChunk(step.stream, step.data))
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Echo | AwaitEof):
                while (data := await self._input.get()) is not None:
                    if isinstance(step, Echo):
                        self._events.put_nowait(OutputChunk(Stream.STDOUT, data))
            elif isinstance(step, Hang):
                await asyncio.Event().wait()
            elif isinstance(step, Vanish):
                self.remove()
                return
            elif isinstance(step, Fail):
                self._end(SandboxError(step.message))
                return
            else:
                self._end(step)
                return
        self._end(EXITED_0)

    def _end(self, last: ProcessExit | SandboxError) -> None:
        """The process is over: its last word goes out, and nothing it would still do counts."""
        process, self._process = self._process, None
        if process is None:
            return
        if process is not asyncio.current_task():
            process.cancel()
        self._events.put_nowait(last)

    def remove(self) -> None:
        """Gone for good, process and all: whoever waits in next_event gets None."""
        self.gone = True
        process, self._process = self._process, None
        if process is not None and process is not asyncio.current_task():
            process.cancel()
        self._events.put_nowait(None)


class FakeBackend:
    """Makes FakeSandboxes that all run `programs`; records what it made and removed."""

    def __init__(self, *programs: Program, ignores_stop: bool = False, renewable: bool = False) -> None:
        self.programs = list(programs)
        self.ignores_stop = ignores_stop
        self.renewable = renewable  # like a namespace-mode container: it may host run after run
        self.isolation = "namespace" if renewable else "container"
        self.create_error: str | None = None  # create raises SandboxError with this
        self.files_error: str | None = None  # sandboxes made from now on fail write_files with this
        self.files_delay_s = 0.0  # and take this long to write them
        self.adapt_error: str | None = None  # adapt raises SandboxError with this
        self.create_delay_s = 0.0  # create takes this long
        self.versions: dict[str, str] = {}
        self.sandboxes: list[FakeSandbox] = []  # every sandbox made, in order
        self.discarded: list[FakeSandbox] = []
        self.reaps = 0
        self.closed = False

    async def create(self, limits: Limits, run_id: str, origin: Origin) -> FakeSandbox:
        await asyncio.sleep(self.create_delay_s)  # a real engine is awaited here, and a cancellation can land
        if self.create_error is not None:
            raise SandboxError(self.create_error)
        sandbox = FakeSandbox(run_id, limits, origin, self.programs, self.ignores_stop)
        sandbox.files_error, sandbox.files_delay_s = self.files_error, self.files_delay_s
        self.sandboxes.append(sandbox)
        return sandbox

    def can_adapt(self, made_with: Limits, wanted: Limits) -> bool:
        """Like Docker's: memory and pids change, anything made at creation must match (here: memory
        below the defaults' stands for a smaller work directory)."""
        return (made_with.memory_mb < 256) == (wanted.memory_mb < 256)

    async def adapt(self, sandbox: Sandbox, made_with: Limits, wanted: Limits) -> None:
        assert isinstance(sandbox, FakeSandbox), "a sandbox this backend did not make"
        assert self.can_adapt(made_with, wanted)
        await asyncio.sleep(0)
        if self.adapt_error is not None:
            raise SandboxError(self.adapt_error)
        sandbox.limits = wanted

    def can_renew(self, sandbox: Sandbox) -> bool:
        return self.renewable

    async def renew(self, sandbox: Sandbox, run_id: str) -> bool:
        """A fresh start for the same sandbox: its programs from the first again, under a new run id."""
        assert isinstance(sandbox, FakeSandbox), "a sandbox this backend did not make"
        await asyncio.sleep(0)
        if sandbox.gone:
            raise SandboxError("the sandbox is gone")
        sandbox._run_id, sandbox.programs = run_id, deque(sandbox.scripted)
        sandbox.runs += 1
        return True

    def discard(self, sandbox: Sandbox) -> None:
        assert isinstance(sandbox, FakeSandbox), "a sandbox this backend did not make"
        sandbox.discards += 1
        sandbox.remove()
        self.discarded.append(sandbox)

    def leaked(self) -> list[FakeSandbox]:
        """Sandboxes made and never discarded."""
        return [s for s in self.sandboxes if not s.discards]

    async def settled(self) -> None:
        pass

    async def ping(self) -> bool:
        return True

    async def image_present(self) -> bool:
        return True

    async def read_versions(self) -> dict[str, str]:
        return dict(self.versions)

    async def reap_leftovers(self) -> int:
        self.reaps += 1
        return 0

    async def close(self) -> None:
        self.closed = True


def _conforms(backend: FakeBackend, sandbox: FakeSandbox) -> tuple[SandboxBackend, Sandbox]:
    """Never called: mypy checks here that the fakes satisfy the Protocols the engine takes."""
    return backend, sandbox
