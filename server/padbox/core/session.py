"""The session engine: one run from validation to verdict, independent of any transport.

The WebSocket endpoint (and any other transport) builds a Plan with `plan_run`, which refuses
bad input before a container exists, then drives a Session: it calls `run()` and forwards the
client's input through `send_stdin`, `send_eof`, `send_signal` and `resize`. Every message for
the client goes through the `emit` callback. Output caps, the watchdog and verdicts live here,
in the one place every path goes through.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from padbox_agent.wire import Kind, decode_json

from padbox.backends.docker import Docker, Sandbox, SandboxError
from padbox.core import protocol
from padbox.core.access import ClientLimiter
from padbox.core.capacity import Capacity
from padbox.core.languages import Catalogue, Language, source_files
from padbox.core.limits import LimitPolicy, Limits
from padbox.core.pool import WarmPool
from padbox.core.protocol import (
    ErrorCode,
    ProtocolError,
    RunRequest,
    ServerType,
    Signal,
    SourceFile,
    Stage,
    StageResult,
    Verdict,
)
from padbox.core.verdicts import Ending, StopReason, decide

log = logging.getLogger("padbox.session")

Emit = Callable[[dict[str, Any]], Awaitable[None]]


class SessionObserver(Protocol):
    """Watches sessions without taking part (metrics, logs): called for every message, then once at the end."""

    def message(self, session: Session, message: dict[str, Any]) -> None: ...

    def finished(self, session: Session) -> None: ...


@dataclass
class Engine:
    """The one execution core every transport drives: Docker, admission, observers."""

    docker: Docker
    capacity: Capacity
    pool: WarmPool | None = None
    limiter: ClientLimiter | None = None
    observers: list[SessionObserver] = field(default_factory=list)

    async def start_sandbox(
        self, limits: Limits, fallback_id: str, prepare: Callable[[Sandbox], Awaitable[None]]
    ) -> Sandbox:
        """A prepared sandbox: a pooled one when one fits (no container made now), else a cold one
        labelled fallback_id. A pooled sandbox that fails its preparation (it died while it waited,
        say the engine restarted) is thrown away and a cold one takes its place."""
        pooled = self.pool.take(limits) if self.pool else None
        if pooled is not None:
            try:
                await prepare(pooled)
                return pooled
            except SandboxError as exc:
                log.warning("pooled sandbox %s failed (%s); using a cold one", pooled.session_id, exc)
                self.docker.discard(pooled)
        sandbox = await self.docker.start_sandbox(limits, fallback_id)
        try:
            await prepare(sandbox)
        except BaseException:
            self.docker.discard(sandbox)
            raise
        return sandbox

# Input typed before the program starts (during compile) waits here; past this it is refused.
MAX_PENDING_INPUT = 1 << 20
# After asking the agent to stop a stage, how long before the whole container is killed instead.
STOP_GRACE_S = 1.0
FRAME_STREAM = {Kind.STDOUT: ServerType.STDOUT, Kind.STDERR: ServerType.STDERR}


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


def plan_run(request: RunRequest, catalogue: Catalogue, policy: LimitPolicy) -> Plan:
    """Validate a request completely, before any container exists. Raises ProtocolError."""
    language = catalogue.resolve(request.language)
    limits = policy.resolve(request.limits, language.limits)
    return Plan(
        run_id=secrets.token_hex(8),
        language=language,
        version=catalogue.version(language),
        files=source_files(language, request.files, request.source),
        args=request.args,
        stdin=request.stdin,
        tty=request.tty,
        cols=request.cols,
        rows=request.rows,
        limits=limits,
    )


def stage_environment(language: Language, tty: bool) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    if tty:
        env["TERM"] = "xterm-256color"
    env.update(language.env)
    return env


class Session:
    """One run: started, (compile), run, exit. Transport-independent."""

    def __init__(self, plan: Plan, engine: Engine, emit: Emit, client: str = "local") -> None:
        self.plan = plan
        self.client = client  # who asked (for per-client caps): a token's digest or an address
        self.engine = engine
        self.docker = engine.docker
        self._send = emit
        self.started_at = time.monotonic()
        self.run_id = plan.run_id  # a pooled sandbox brings its own id
        self.stage: Stage | None = None
        self.results: list[StageResult] = []
        self.error: ErrorCode | None = None  # set when the session ended with an `error` message
        self.refusal: ProtocolError | None = None  # why admission refused it (busy), for transports that care
        self._sandbox: Sandbox | None = None
        self._process_running = False
        self._input: asyncio.Queue[tuple[Kind, bytes]] = asyncio.Queue()
        self._pending_input_bytes = 0
        self._pending_signal: Signal | None = None
        self._size = (plan.cols, plan.rows)
        self._stop: StopReason | None = None
        self._output_left = plan.limits.output_bytes
        if plan.stdin:
            self._queue_input(Kind.STDIN, plan.stdin.encode())

    @property
    def id(self) -> str:
        """The run's id: the value of its container's padbox.session label."""
        return self.run_id

    async def emit(self, message: dict[str, Any]) -> None:
        for observer in self.engine.observers:
            observer.message(self, message)
        await self._send(message)

    # --- the client's input ---------------------------------------------------------------
    def _queue_input(self, kind: Kind, data: bytes = b"") -> None:
        if self.stage is not Stage.RUN:
            self._pending_input_bytes += len(data)
            if self._pending_input_bytes > MAX_PENDING_INPUT:
                raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, "too much input sent before the program started")
        self._input.put_nowait((kind, data))

    async def send_stdin(self, data: str) -> None:
        self._queue_input(Kind.STDIN, data.encode())

    async def send_eof(self) -> None:
        self._queue_input(Kind.EOF)

    async def send_signal(self, sig: Signal) -> None:
        if self._sandbox is None or not self._process_running:
            self._pending_signal = sig  # delivered as soon as the next process starts
            return
        self._stop = self._stop or StopReason.CLIENT_SIGNAL
        await self._sandbox.send_json(Kind.SIGNAL, {"signal": sig.number})

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if self._sandbox is not None and self._process_running and self.plan.tty:
            await self._sandbox.send_json(Kind.RESIZE, {"cols": cols, "rows": rows})

    # --- the run ----------------------------------------------------------------------------
    async def run(self) -> None:
        """Run to the end, emitting every message; user-caused problems never raise from here."""
        limiter = self.engine.limiter
        try:
            with limiter.admitted(self.client) if limiter else nullcontext():
                await self._admitted_run()
        except ProtocolError as exc:  # refused at admission: busy
            self.error = exc.code
            self.refusal = exc
            await self.emit(protocol.refusal(exc))
        finally:
            if self.engine.pool:
                self.engine.pool.poke()
            for observer in self.engine.observers:
                observer.finished(self)

    async def _admitted_run(self) -> None:
        plan = self.plan
        try:
            async with self.engine.capacity.slot(self._queued):
                sandbox = await self.engine.start_sandbox(plan.limits, plan.run_id, self._write_files)
                self._sandbox, self.run_id = sandbox, sandbox.session_id
                try:
                    await self.emit(protocol.started(self.id, plan.language.id, plan.version))
                    await self._run_stages(sandbox)
                finally:
                    self.docker.discard(sandbox)
        except SandboxError as exc:
            log.error("session %s: %s", self.id, exc)
            self.error = ErrorCode.INTERNAL
            await self.emit(protocol.error(ErrorCode.INTERNAL, f"the sandbox failed: {exc}"))
        finally:
            self._sandbox = None

    async def _run_stages(self, sandbox: Sandbox) -> None:
        plan = self.plan
        language = plan.language
        entry = plan.files[0].name
        if language.compile is not None:
            argv = language.command(language.compile, entry)
            result = await self._stage(sandbox, Stage.COMPILE, argv, plan.limits.compile_timeout_s)
            if result is None or result.verdict is not Verdict.OK:
                return
        argv = language.command(language.run, entry, plan.args)
        await self._stage(sandbox, Stage.RUN, argv, plan.limits.run_timeout_s)

    async def _queued(self, position: int) -> None:
        await self.emit(protocol.queued(position))

    async def _write_files(self, sandbox: Sandbox) -> None:
        files = [{"name": f.name, "content": f.content} for f in self.plan.files]
        await sandbox.send_json(Kind.FILES, {"files": files})
        await sandbox.expect(Kind.DONE, timeout=30)

    async def _stage(self, sandbox: Sandbox, stage: Stage, argv: list[str], timeout_s: float) -> StageResult | None:
        """One stage: start its process, relay until it exits, report. None if the sandbox died."""
        plan = self.plan
        self.stage = stage
        self._stop = None
        await self.emit(protocol.stage_began(stage))
        cols, rows = self._size
        spec = {
            "argv": argv,
            "env": stage_environment(plan.language, plan.tty),
            "tty": plan.tty,
            "cols": cols,
            "rows": rows,
            "cpu_time_s": plan.limits.cpu_time_s,
        }
        started = time.monotonic()
        await sandbox.send_json(Kind.EXEC, spec)
        self._process_running = True
        helpers = [asyncio.create_task(self._watchdog(sandbox, timeout_s))]
        if stage is Stage.RUN:
            helpers.append(asyncio.create_task(self._pump_input(sandbox)))
        if self._pending_signal is not None:
            sig, self._pending_signal = self._pending_signal, None
            await self.send_signal(sig)
        decoders = {kind: codecs.getincrementaldecoder("utf-8")(errors="replace") for kind in FRAME_STREAM}
        try:
            exit_info = await self._relay(sandbox, stage, decoders)
        finally:
            self._process_running = False
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        for kind, decoder in decoders.items():
            await self._emit_output(kind, stage, decoder.decode(b"", final=True))
        wall_ms = round((time.monotonic() - started) * 1000)
        result = self._result(stage, exit_info, wall_ms)
        self.results.append(result)
        await self.emit(protocol.exited(result))
        return result if exit_info is not None else None

    async def _relay(
        self, sandbox: Sandbox, stage: Stage, decoders: Mapping[Kind, codecs.IncrementalDecoder]
    ) -> dict[str, Any] | None:
        """Relay output until the agent reports the exit (its info) or the container is gone (None)."""
        while True:
            frame = await sandbox.next_frame()
            if frame is None:
                return None
            kind, payload = frame
            if kind in FRAME_STREAM:
                await self._relay_output(sandbox, kind, stage, payload, decoders[kind])
            elif kind == Kind.EXIT:
                return decode_json(payload)
            elif kind == Kind.FAIL:
                raise SandboxError(str(decode_json(payload).get("message")))

    async def _relay_output(
        self, sandbox: Sandbox, kind: Kind, stage: Stage, data: bytes, decoder: codecs.IncrementalDecoder
    ) -> None:
        if self._stop is StopReason.OUTPUT_LIMIT:
            return
        over = len(data) > self._output_left
        if over:
            data = data[: self._output_left]
        self._output_left -= len(data)
        await self._emit_output(kind, stage, decoder.decode(data))
        if over:
            await self._halt(sandbox, StopReason.OUTPUT_LIMIT)

    async def _emit_output(self, kind: Kind, stage: Stage, text: str) -> None:
        if text:
            stream = ServerType.STDOUT if self.plan.tty else FRAME_STREAM[kind]
            await self.emit(protocol.output(stream, stage, text))

    async def _pump_input(self, sandbox: Sandbox) -> None:
        """Forward queued and live input to the running program, in order."""
        while True:
            kind, data = await self._input.get()
            await sandbox.send(kind, data)

    async def _watchdog(self, sandbox: Sandbox, timeout_s: float) -> None:
        await asyncio.sleep(timeout_s)
        await self._halt(sandbox, StopReason.TIMEOUT)

    async def _halt(self, sandbox: Sandbox, reason: StopReason) -> None:
        """Stop the stage: ask the agent first (it can still report usage), then kill the container."""
        if self._stop in (None, StopReason.CLIENT_SIGNAL):
            self._stop = reason
        await sandbox.send(Kind.KILL)
        asyncio.get_running_loop().call_later(STOP_GRACE_S, self._backstop, sandbox, self.stage)

    def _backstop(self, sandbox: Sandbox, stage: Stage | None) -> None:
        if self._process_running and self.stage is stage and self._sandbox is sandbox:
            log.warning("session %s: agent did not stop the %s stage; killing the container", self.id, stage)
            self.docker.track(sandbox.kill())

    def _result(self, stage: Stage, info: dict[str, Any] | None, wall_ms: int) -> StageResult:
        limits = self.plan.limits
        info = info or {"code": None, "signal": "SIGKILL"}
        ending = Ending(
            stage=stage,
            code=info.get("code"),
            signal=info.get("signal"),
            oom=info.get("oom"),
            stop=self._stop,
            cpu_ms=info.get("cpu_ms"),
            cpu_limit_ms=round(limits.cpu_time_s * 1000),
            memory_bytes=info.get("memory_bytes"),
            memory_limit_bytes=limits.memory_bytes,
        )
        return StageResult(
            stage=stage,
            code=ending.code,
            signal=ending.signal,
            verdict=decide(ending),
            wall_ms=info.get("wall_ms", wall_ms),
            cpu_ms=ending.cpu_ms,
            memory_bytes=ending.memory_bytes,
        )
