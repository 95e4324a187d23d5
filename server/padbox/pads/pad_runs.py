"""A pad's runs: the document as it stands, started through the Runner like any run, and watched by the pad
itself as one more participant, which keeps the run's output (capped), verdict and usage for the history.

Everyone on the pad sees the run by joining it on /ws with the key the events socket hands them: the shared
run's driver key for edit and owner, its viewer key for view. So the terminal, input, stopping and a late
joiner's snapshot are the shared runs' own, not written again here.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from padbox.core.events import AnyEvent, Error, Exited, Output, Started, Typed
from padbox.core.protocol import ErrorCode, ProtocolError, RunRequest, Signal, SignalMessage
from padbox.core.runner import Credentials, Participation, Runner
from padbox.pads.messages import RunInfo
from padbox.pads.model import PadRole
from padbox.pads.store import Author, RunEnd, RunStart

STOP_WAIT_S = 5.0  # a new Run waits this long for the pad's previous run to be killed


@dataclass
class OutputLog:
    """A run's output as the history keeps it: the first `limit` bytes of UTF-8 text, and whether more came."""

    limit: int
    parts: list[str] = field(default_factory=list)
    size: int = 0
    truncated: bool = False

    def add(self, text: str) -> None:
        if self.truncated:
            return
        data = text.encode()
        if self.size + len(data) > self.limit:
            data = data[: self.limit - self.size]
            self.truncated = True
            text = data.decode(errors="ignore")  # a character cut in two is dropped, not half-kept
        self.parts.append(text)
        self.size += len(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


COALESCE_S = 0.05  # output or input chunks this close together are one transcript entry


@dataclass
class Transcript:
    """The terminal as it went: output and typed input in order, each with its time (seconds since the epoch), so
    playback can show the terminal as it was at any moment. Bounded by `limit` bytes of text, input and output
    together; past it, nothing more is kept (`truncated`)."""

    limit: int
    entries: list[tuple[float, str, str]] = field(default_factory=list)
    size: int = 0
    truncated: bool = False

    def add(self, at: float, kind: str, text: str) -> None:
        if self.truncated or not text:
            return
        data = text.encode()
        if self.size + len(data) > self.limit:
            data = data[: self.limit - self.size]
            self.truncated = True
            text = data.decode(errors="ignore")
        self.size += len(data)
        last = self.entries[-1] if self.entries else None
        if last is not None and last[1] == kind and at - last[0] < COALESCE_S:
            self.entries[-1] = (last[0], kind, last[2] + text)
        else:
            self.entries.append((round(at, 3), kind, text))


@dataclass
class Outcome:
    """What the pad keeps of a run's events (folded as they come: nothing else is held)."""

    output: OutputLog
    transcript: Transcript
    last_exit: Exited | None = None
    error: Error | None = None

    def add(self, event: AnyEvent, at: float | None = None) -> None:
        now = time.time() if at is None else at
        if isinstance(event, Output):
            self.output.add(event.data)
            self.transcript.add(now, "out", event.data)
        elif isinstance(event, Typed):
            self.transcript.add(now, "in", event.data)
        elif isinstance(event, Exited):
            self.last_exit = event
        elif isinstance(event, Error):
            self.error = event

    def end(self, at: float) -> RunEnd:
        exited = self.last_exit
        usage = None
        if exited is not None:
            usage = {"wall_ms": exited.wall_ms, "cpu_ms": exited.cpu_ms, "memory_bytes": exited.memory_bytes}
        return RunEnd(
            finished_at=at,
            output=self.output.text,
            truncated=self.output.truncated,
            verdict=exited.verdict.value if exited else None,
            exit_code=exited.code if exited else None,
            signal=exited.signal if exited else None,
            usage=usage,
            error={"code": self.error.code.value, "message": self.error.message} if self.error else None,
            transcript=tuple(self.transcript.entries),
            transcript_truncated=self.transcript.truncated,
        )


@dataclass(eq=False)
class PadRun:
    """A pad's run going on: its shared run's id and keys, who started it, and the pad's own place in it."""

    start: RunStart
    driver_key: str
    viewer_key: str
    participation: Participation
    outcome: Outcome
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def run_id(self) -> str:
        return self.start.run_id

    def key_for(self, role: PadRole) -> str:
        """The key a role is handed: only edit and owner may drive."""
        return self.driver_key if role.can_edit else self.viewer_key

    def info(self, role: PadRole) -> RunInfo:
        return RunInfo(self.run_id, self.key_for(role), self.start.author.name, self.start.at)

    async def stop(self) -> None:
        """Kill the program (as a driver's SIGKILL) and wait, bounded, for the run to end."""
        if self.finished.is_set():
            return
        await self.participation.send(SignalMessage(Signal.SIGKILL))
        try:
            async with asyncio.timeout(STOP_WAIT_S):
                await self.finished.wait()
        except TimeoutError:
            pass

    async def follow(self) -> RunEnd:
        """Read the run's frames to its end (the pad's participation must be read, or the run waits)."""
        try:
            while (frame := await self.participation.next_frame()) is not None:
                self.outcome.add(frame.event)
        finally:
            self.participation.leave()
        return self.outcome.end(time.time())


async def start(
    runner: Runner, request: RunRequest, credentials: Credentials, author: Author, output_limit: int
) -> PadRun:
    """Start a run of the pad's files and wait until it has its sandbox (its id is its sandbox's). Raises
    ProtocolError when it was refused or failed before starting."""
    participation = await runner.start(request, credentials)
    participation.hear_input()  # what is typed into the terminal goes into the transcript with its time
    outcome = Outcome(OutputLog(output_limit), Transcript(output_limit * 2))
    try:
        while True:
            frame = await participation.next_frame()
            if frame is None:
                problem = participation.error
                raise problem or ProtocolError(ErrorCode.INTERNAL, "the run ended before it started")
            if isinstance(frame.event, Error):
                raise frame.event.problem()
            outcome.add(frame.event)
            if isinstance(frame.event, Started):
                started = frame.event
                break
    except BaseException:
        participation.leave()
        raise
    assert started.driver_key is not None and started.viewer_key is not None
    files = [{"name": f.name, "content": f.content} for f in request.files or ()]
    run_start = RunStart(started.id, time.time(), author, started.language, files)
    return PadRun(run_start, started.driver_key, started.viewer_key, participation, outcome)
