"""The run engine: one run's stages inside its sandbox, from `started` to the last `exit`.

A Session knows nothing of sockets, admission or Docker. The Runner (core/runner.py) admits it,
hands it a Sandbox and calls `run_in`; participants' input arrives through `send_stdin`,
`send_eof`, `send_signal` and `resize`, and may come before the sandbox does (it waits, bounded).
Every event for the clients goes through `emit`. Output caps, the watchdog and verdicts live here,
in the one place every path goes through.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from padbox.core.cluster import run_id_for
from padbox.core.events import AnyEvent, Error, Exited, Queued, StageBegan, Started, Stderr, Stdout
from padbox.core.languages import Catalogue, Language, source_files
from padbox.core.limits import LimitPolicy, Limits
from padbox.core.protocol import (
    ErrorCode,
    ProtocolError,
    RunRequest,
    Signal,
    SourceFile,
    Stage,
    Verdict,
    bad_request,
    check_file_name,
)
from padbox.core.sandbox import (
    KILLED,
    OutputChunk,
    ProcessExit,
    ProcessSpec,
    Sandbox,
    SandboxError,
    SandboxLost,
    Stream,
)
from padbox.core.verdicts import Ending, StopReason, decide

log = logging.getLogger("padbox.session")

Emit = Callable[[AnyEvent], Awaitable[None]]
HardStop = Callable[[Sandbox], None]

# Input typed before the program starts (during compile) waits here; past this it is refused.
MAX_PENDING_INPUT = 1 << 20
# After asking the sandbox to stop a stage, how long before the whole sandbox is removed instead.
STOP_GRACE_S = 1.0


class SessionObserver(Protocol):
    """Watches sessions without taking part (metrics, logs): every event, then once at the end."""

    def event(self, session: Session, event: AnyEvent) -> None: ...

    def finished(self, session: Session) -> None: ...


@dataclass(frozen=True)
class Plan:
    """A run request checked against the catalogue and the limit policy: safe to start."""

    run_id: str
    language: Language
    version: str
    files: tuple[SourceFile, ...]
    args: tuple[str, ...]
    stdin: str
    tty: bool
    cols: int
    rows: int
    limits: Limits


def plan_run(request: RunRequest, catalogue: Catalogue, policy: LimitPolicy, node: str = "") -> Plan:
    """Validate a request completely, before any sandbox exists. Raises ProtocolError. `node`: the cluster node
    that will own the run, the front of its id."""
    language = catalogue.resolve(request.language)
    limits = policy.resolve(request.limits, language.limits)
    files = source_files(language, request.files, request.source)
    if request.source is not None:
        # A single source's file may be named from its text (Java's public class): a name the client chose,
        # so it meets the rule `files` names met in check_run; the agent would refuse it after the container exists.
        try:
            check_file_name(files[0].name)
        except ProtocolError as exc:
            raise bad_request(f"the source's file is named after its text: {exc.message}") from None
    return Plan(
        run_id=run_id_for(node, secrets.token_hex(8)),
        language=language,
        version=catalogue.version(language),
        files=files,
        args=request.args,
        stdin=request.stdin,
        tty=request.tty,
        cols=request.cols,
        rows=request.rows,
        limits=limits,
    )


def sandbox_failure(exc: SandboxError, stage: Stage | None) -> ProtocolError:
    """What the clients are told when the sandbox failed. Lost under a stage's program (the engine stopped,
    the container went, the agent fell silent): `sandbox_lost`, never a verdict, since the program did
    nothing wrong. Anything else, and a sandbox lost before any stage began (it could not be made or
    prepared, so no program ran): `internal`."""
    if isinstance(exc, SandboxLost) and stage is not None:
        return ProtocolError(
            ErrorCode.SANDBOX_LOST,
            f"the sandbox was lost while the program ran ({exc}), so how the program "
            "would have ended is not known and it has no verdict: run it again",
        )
    return ProtocolError(ErrorCode.INTERNAL, f"the sandbox failed: {exc}")


def stage_environment(language: Language, tty: bool) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    if tty:
        env["TERM"] = "xterm-256color"
    env.update(language.env)
    return env


class OutputBudget:
    """The run's output cap, compile and run together: what may still be relayed."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.spent = False

    def take(self, data: bytes) -> bytes:
        """The part of `data` that fits; once something did not fit, `spent` is set and nothing more does."""
        if self.spent:
            return b""
        if len(data) > self.left:
            self.spent = True
            data = data[: self.left]
        self.left -= len(data)
        return data


class PendingInput:
    """The program's input in order: what arrives before it starts waits here, bounded; None is end-of-file."""

    def __init__(self, limit: int = MAX_PENDING_INPUT) -> None:
        self.limit = limit
        self.waiting_bytes = 0
        self.started = False  # the run stage began: from now on input goes straight through
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def put(self, data: bytes | None) -> None:
        if not self.started:
            self.waiting_bytes += len(data or b"")
            if self.waiting_bytes > self.limit:
                raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, "too much input sent before the program started")
        self._queue.put_nowait(data)

    async def get(self) -> bytes | None:
        return await self._queue.get()


class Session:
    """One run: started, (compile), run, exit. Transport- and backend-independent."""

    def __init__(
        self,
        plan: Plan,
        emit: Emit,
        client: str = "local",
        observers: tuple[SessionObserver, ...] = (),
        hard_stop: HardStop | None = None,
    ) -> None:
        self.plan = plan
        self.client = client  # who asked (for per-client caps): a token's digest or an address
        self.observers = observers
        self._send = emit
        self._hard_stop = hard_stop  # removes the whole sandbox when it does not stop a stage itself
        self.started_at = time.monotonic()
        self.run_id = plan.run_id  # a pooled sandbox brings its own id
        self.stage: Stage | None = None
        self.results: list[Exited] = []
        self.error: ProtocolError | None = None  # set when the session ended with an `error` event
        self._sandbox: Sandbox | None = None
        self._process_running = False
        self._input = PendingInput()
        self._pending_signal: Signal | None = None
        self._size = (plan.cols, plan.rows)
        self._stop: StopReason | None = None
        # The server asked for the stage's end (watchdog, output cap, a client's SIGKILL): a sandbox that then
        # goes without an EXIT went because it was told to, and the stage keeps the server's verdict.
        self._ending = False
        self._output = OutputBudget(plan.limits.output_bytes)
        self._removed = False  # the backstop removed the sandbox whole
        if plan.stdin:
            self._input.put(plan.stdin.encode())

    @property
    def ended_cleanly(self) -> bool:
        """Every stage ended with an exit the sandbox reported, and nothing had to remove the sandbox: it may
        host another run, if its backend can renew it."""
        return self.error is None and not self._removed and not self._process_running and bool(self.results)

    @property
    def id(self) -> str:
        """The run's id: the value of its sandbox's padbox.session label."""
        return self.run_id

    async def emit(self, event: AnyEvent) -> None:
        for observer in self.observers:
            observer.event(self, event)
        await self._send(event)

    async def queued(self, position: int) -> None:
        await self.emit(Queued(position))

    async def fail(self, problem: ProtocolError) -> None:
        """End with an `error` event (refused at admission, or the sandbox failed)."""
        self.error = problem
        await self.emit(Error.of(problem))

    def finish(self) -> None:
        for observer in self.observers:
            observer.finished(self)

    # --- the participants' input ------------------------------------------------------------
    async def send_stdin(self, data: str) -> None:
        self._input.put(data.encode())

    async def send_eof(self) -> None:
        self._input.put(None)

    async def send_signal(self, sig: Signal) -> None:
        sandbox = self._sandbox
        if sandbox is None or not self._process_running:
            self._pending_signal = sig  # delivered as soon as the next process starts
            return
        self._stop = self._stop or StopReason.CLIENT_SIGNAL
        if sig is Signal.SIGKILL:  # the end of the stage, as the watchdog's: removed whole if it does not come
            self._ending = True
            self._schedule_backstop(sandbox)
        try:
            await sandbox.send_signal(sig.number)
        except SandboxError as exc:  # the relay tells everyone what became of the sandbox
            log.info("session %s: could not deliver %s: %s", self.id, sig.value, exc)

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if self._sandbox is not None and self._process_running and self.plan.tty:
            try:
                await self._sandbox.resize(cols, rows)
            except SandboxError as exc:
                log.info("session %s: could not resize the terminal: %s", self.id, exc)

    # --- the run ----------------------------------------------------------------------------
    async def run_in(self, sandbox: Sandbox) -> None:
        """Run every stage in a sandbox whose files are written; SandboxError when it fails."""
        plan = self.plan
        self._sandbox, self.run_id = sandbox, sandbox.run_id
        try:
            await self.emit(Started(self.id, plan.language.id, plan.version))
            language = plan.language
            entry = plan.files[0]
            compile, run = language.stages(entry)
            if compile is not None:
                argv = language.command(compile, entry)
                result = await self._stage(sandbox, Stage.COMPILE, argv, plan.limits.compile_timeout_s)
                if result is None or result.verdict is not Verdict.OK:
                    return
            argv = language.command(run, entry, plan.args)
            await self._stage(sandbox, Stage.RUN, argv, plan.limits.run_timeout_s)
        finally:
            self._sandbox = None

    async def _stage(self, sandbox: Sandbox, stage: Stage, argv: list[str], timeout_s: float) -> Exited | None:
        """One stage: start its process, relay until it exits, report. None if the sandbox died."""
        plan = self.plan
        self.stage = stage
        self._stop = None
        self._ending = False
        await self.emit(StageBegan(stage))
        cols, rows = self._size
        spec = ProcessSpec(
            argv=tuple(argv),
            env=stage_environment(plan.language, plan.tty),
            tty=plan.tty,
            cols=cols,
            rows=rows,
            cpu_time_s=plan.limits.cpu_time_s,
        )
        started = time.monotonic()
        await sandbox.execute(spec)
        if stage is Stage.COMPILE:
            # The participants' input is the program's alone. A compiler that runs the program's code (Poly/ML's
            # top level, Template Haskell, Haxe's macros) or reads stdin itself (`#include "/dev/stdin"`) finds
            # it ended, rather than eating the input or waiting out its time limit for more.
            await sandbox.close_stdin()
        self._process_running = True
        helpers = [asyncio.create_task(self._watchdog(sandbox, timeout_s))]
        if stage is Stage.RUN:
            self._input.started = True
            helpers.append(asyncio.create_task(self._pump_input(sandbox)))
        if self._pending_signal is not None:
            sig, self._pending_signal = self._pending_signal, None
            await self.send_signal(sig)
        decoders = {stream: codecs.getincrementaldecoder("utf-8")(errors="replace") for stream in Stream}
        lost: SandboxLost | None = None
        try:
            ending = await self._relay(sandbox, stage, decoders)
        except SandboxLost as exc:
            ending, lost = None, exc
        finally:
            self._process_running = False
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        for stream, decoder in decoders.items():
            await self._emit_output(stream, stage, decoder.decode(b"", final=True))
        if ending is None and not self._ending:
            # The one place a sandbox's end without an EXIT is judged: the server did not end it, so it was lost.
            raise lost or SandboxLost("it ended before it reported the program's exit")
        wall_ms = round((time.monotonic() - started) * 1000)
        result = self._result(stage, ending or KILLED, wall_ms)
        self.results.append(result)
        await self.emit(result)
        return result if ending is not None else None

    async def _relay(
        self, sandbox: Sandbox, stage: Stage, decoders: Mapping[Stream, codecs.IncrementalDecoder]
    ) -> ProcessExit | None:
        """Relay output until the process exits (its ending) or the sandbox is gone (None)."""
        while True:
            event = await sandbox.next_event()
            if event is None or isinstance(event, ProcessExit):
                return event
            await self._relay_output(sandbox, event, stage, decoders[event.stream])

    async def _relay_output(
        self, sandbox: Sandbox, chunk: OutputChunk, stage: Stage, decoder: codecs.IncrementalDecoder
    ) -> None:
        if self._output.spent:
            return
        data = self._output.take(chunk.data)
        text = decoder.decode(data)
        if self._output.spent:
            # The cut may fall inside a character: drop its first bytes, or the flush at exit would add a
            # U+FFFD the program never wrote and the relayed text would pass the cap.
            decoder.reset()
        await self._emit_output(chunk.stream, stage, text)
        if self._output.spent:
            await self._halt(sandbox, StopReason.OUTPUT_LIMIT)

    async def _emit_output(self, stream: Stream, stage: Stage, text: str) -> None:
        if not text:
            return
        # A terminal has one output stream: whatever the process wrote, the client gets stdout.
        await self.emit(Stderr(stage, text) if stream is Stream.STDERR and not self.plan.tty else Stdout(stage, text))

    async def _pump_input(self, sandbox: Sandbox) -> None:
        """Forward queued and live input to the running program, in order."""
        while True:
            data = await self._input.get()
            if data is None:
                await sandbox.close_stdin()
            else:
                await sandbox.write_stdin(data)

    async def _watchdog(self, sandbox: Sandbox, timeout_s: float) -> None:
        await asyncio.sleep(timeout_s)
        await self._halt(sandbox, StopReason.TIMEOUT)

    async def _halt(self, sandbox: Sandbox, reason: StopReason) -> None:
        """Stop the stage: ask the sandbox first (it can still report usage), then remove it whole."""
        if self._stop in (None, StopReason.CLIENT_SIGNAL):
            self._stop = reason
        self._ending = True
        self._schedule_backstop(sandbox)
        try:
            await sandbox.stop()
        except SandboxError as exc:  # the backstop removes it whole
            log.info("session %s: could not ask the sandbox to stop: %s", self.id, exc)

    def _schedule_backstop(self, sandbox: Sandbox) -> None:
        asyncio.get_running_loop().call_later(STOP_GRACE_S, self._backstop, sandbox, self.stage)

    def _backstop(self, sandbox: Sandbox, stage: Stage | None) -> None:
        if self._process_running and self.stage is stage and self._sandbox is sandbox and self._hard_stop:
            log.warning("session %s: the sandbox did not stop the %s stage; removing it", self.id, stage)
            self._removed = True
            self._hard_stop(sandbox)

    def _result(self, stage: Stage, ending: ProcessExit, wall_ms: int) -> Exited:
        limits = self.plan.limits
        verdict = decide(
            Ending(
                stage=stage,
                code=ending.code,
                signal=ending.signal,
                oom=ending.oom,
                stop=self._stop,
                cpu_ms=ending.cpu_ms,
                cpu_limit_ms=round(limits.cpu_time_s * 1000),
                memory_bytes=ending.memory_bytes,
                memory_limit_bytes=limits.memory_bytes,
            )
        )
        return Exited(
            stage=stage,
            code=ending.code,
            signal=ending.signal,
            verdict=verdict,
            wall_ms=ending.wall_ms if ending.wall_ms is not None else wall_ms,
            cpu_ms=ending.cpu_ms,
            memory_bytes=ending.memory_bytes,
        )
