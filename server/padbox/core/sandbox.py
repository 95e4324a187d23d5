"""What the run engine needs from a sandbox, and from whatever makes sandboxes: two Protocols.

The core never names Docker. A backend (backends/docker.py today; a Kubernetes pod or a remote node
tomorrow) makes sandboxes that satisfy `Sandbox`; the unit tests use an in-memory one. Every backend
that runs padbox's agent gets `Sandbox` for free from core/agent_sandbox.py and only supplies the
byte stream to the agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from padbox.core.limits import Limits
from padbox.core.protocol import SourceFile


class SandboxError(Exception):
    """The sandbox or its backend failed: the client gets an `internal` error, the sandbox is removed."""


class SandboxLost(SandboxError):
    """The sandbox went away, or stopped answering, under a running program the server had not stopped: the
    engine stopped, the container was killed or removed from outside, its agent fell silent, its node died.
    The program did nothing wrong and has no verdict: the client gets a `sandbox_lost` error instead."""


class Origin(StrEnum):
    """Why a sandbox was made: ahead of time for the warm pool, or for a run that waits for it."""

    POOL = "pool"
    COLD = "cold"


class Stream(StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


@dataclass(frozen=True)
class ProcessSpec:
    """One stage's process: what to run, how its terminal looks, its CPU-time limit."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    tty: bool
    cols: int
    rows: int
    cpu_time_s: float


@dataclass(frozen=True)
class OutputChunk:
    stream: Stream
    data: bytes


@dataclass(frozen=True)
class ProcessExit:
    """How a stage's process ended, as the sandbox measured it (None: not known)."""

    code: int | None
    signal: str | None
    wall_ms: int | None = None
    cpu_ms: int | None = None
    memory_bytes: int | None = None
    oom: bool | None = None


KILLED = ProcessExit(code=None, signal="SIGKILL")  # the server removed the sandbox under the process
SandboxEvent = OutputChunk | ProcessExit


class Sandbox(Protocol):
    """One isolated machine for one run: files in, one process at a time, output and exit out."""

    @property
    def run_id(self) -> str:
        """The id of the run it belongs to (a pooled sandbox brings its own)."""
        ...

    async def write_files(self, files: Sequence[SourceFile]) -> None:
        """Write the sources under the work directory; SandboxError if it cannot."""
        ...

    async def execute(self, spec: ProcessSpec) -> None:
        """Start a stage's process; its output and exit arrive through next_event."""
        ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def send_signal(self, number: int) -> None:
        """To the process group; SIGKILL ends everything the stage started."""
        ...

    async def resize(self, cols: int, rows: int) -> None: ...

    async def stop(self) -> None:
        """Ask the sandbox to end every process of the stage (it still reports the exit)."""
        ...

    async def next_event(self) -> SandboxEvent | None:
        """The next output chunk or the process's exit; None once the sandbox is gone without an exit (the
        run engine knows whether the server removed it or it was lost); SandboxLost when it stops answering."""
        ...


class SandboxBackend(Protocol):
    """Makes and removes sandboxes. Removal happens in the background and is never cancelled half-way."""

    isolation: str  # "namespace": sandboxes host run after run, each in fresh namespaces; "container": one run each

    async def create(self, limits: Limits, run_id: str, origin: Origin) -> Sandbox:
        """A started sandbox, ready for files; SandboxError when the backend refuses or times out."""
        ...

    def can_adapt(self, made_with: Limits, wanted: Limits) -> bool:
        """A sandbox made with `made_with` can be given `wanted` (by `adapt`), so a warm one can serve the run."""
        ...

    async def adapt(self, sandbox: Sandbox, made_with: Limits, wanted: Limits) -> None:
        """Give a started sandbox, made with `made_with`, the limits `wanted` (nothing to do when they match);
        SandboxError when the backend refuses. Only for limits `can_adapt` accepts."""
        ...

    def can_renew(self, sandbox: Sandbox) -> bool:
        """Whether a sandbox that served a run may be renewed for another (its backend isolates runs inside it,
        and it is within its age and run count)."""
        ...

    async def renew(self, sandbox: Sandbox, run_id: str) -> bool:
        """After a run that ended normally: a fresh inner sandbox in the same outer one for the run `run_id`.
        False when it must be removed instead; SandboxError when it failed."""
        ...

    def discard(self, sandbox: Sandbox) -> None:
        """Remove a sandbox (never reused), in the background; also the watchdog's last resort."""
        ...

    async def settled(self) -> None:
        """Wait for every removal started so far."""
        ...

    async def ping(self) -> bool:
        """The engine behind the backend answers."""
        ...

    async def image_present(self) -> bool:
        """The sandbox image is there to make sandboxes from."""
        ...

    async def read_versions(self) -> dict[str, str]:
        """Each language's version, as the sandbox image recorded it."""
        ...

    async def reap_leftovers(self) -> int:
        """Remove sandboxes an earlier server of this instance left behind; how many."""
        ...

    async def close(self) -> None: ...
