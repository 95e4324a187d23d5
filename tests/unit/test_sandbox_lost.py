"""A sandbox lost under a running program is a `sandbox_lost` error, never a verdict; a sandbox the server
ended itself keeps the server's verdict. The run engine against an in-memory sandbox: no Docker, no agent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from padbox.assembly import pool_sizing
from padbox.config import Settings
from padbox.core.access import AccessPolicy, ClientLimiter
from padbox.core.agent_sandbox import AgentSandbox, Liveness
from padbox.core.capacity import Capacity
from padbox.core.door import Credentials, Door, DoorSettings, Lifecycle
from padbox.core.events import AnyEvent, Error, Exited, StageBegan, Started, Stdout
from padbox.core.languages import Catalogue
from padbox.core.limits import Limits
from padbox.core.pool import SandboxSupply, WarmPool
from padbox.core.protocol import ErrorCode, ProtocolError, RunRequest, Stage, Verdict, parse_client_message
from padbox.core.runner import Runner
from padbox.core.sandbox import (
    Origin,
    OutputChunk,
    ProcessExit,
    ProcessSpec,
    SandboxError,
    SandboxEvent,
    SandboxLost,
    Stream,
)
from padbox.core.session import sandbox_failure
from padbox.core.sharing import ShareRegistry
from padbox_agent.wire import ExitSigner, FrameDecoder, Kind, encode, json_payload
from tests.eventually import eventually

SETTINGS = Settings.from_env({})
CREDENTIALS = Credentials({}, {}, "127.0.0.1")
Program = Callable[["FakeSandbox"], Awaitable[None]]


class FakeSandbox:
    """A sandbox in memory. `program` plays the stage's process; `obeys_stop`: a stop or SIGKILL ends it
    with an exit (else only removal ends it, as a sandbox that no longer answers)."""

    def __init__(self, run_id: str, program: Program | None, obeys_stop: bool, fail_files: SandboxError | None) -> None:
        self._run_id = run_id
        self.program = program
        self.obeys_stop = obeys_stop
        self.fail_files = fail_files
        self.events: asyncio.Queue[SandboxEvent | None] = asyncio.Queue()
        self.signals: list[int] = []
        self.discarded = False
        self._playing: asyncio.Task[None] | None = None

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def running(self) -> bool:
        return self._playing is not None

    async def write_files(self, files: object) -> None:
        if self.fail_files is not None:
            raise self.fail_files

    async def execute(self, spec: ProcessSpec) -> None:
        if self.program is not None:
            self._playing = asyncio.create_task(self.program(self))

    def say(self, text: str) -> None:
        self.events.put_nowait(OutputChunk(Stream.STDOUT, text.encode()))

    def exit(self, code: int | None = 0, signal: str | None = None, oom: bool | None = False) -> None:
        self.events.put_nowait(ProcessExit(code=code, signal=signal, wall_ms=1, cpu_ms=1, memory_bytes=1, oom=oom))

    def vanish(self) -> None:
        """The engine stopped, or someone removed the container: the stream ends, no EXIT."""
        self.events.put_nowait(None)

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def send_signal(self, number: int) -> None:
        self.signals.append(number)
        if number == 9 and self.obeys_stop:
            self.exit(None, "SIGKILL")

    async def resize(self, cols: int, rows: int) -> None: ...

    async def stop(self) -> None:
        if self.obeys_stop:
            self.exit(None, "SIGKILL")

    async def next_event(self) -> SandboxEvent | None:
        return await self.events.get()


class FakeBackend:
    """Makes FakeSandboxes; removal ends a sandbox's stream, as the Docker backend's does."""

    def __init__(
        self,
        program: Program | None = None,
        obeys_stop: bool = True,
        create_fails: SandboxError | None = None,
        files_fail: SandboxError | None = None,
    ) -> None:
        self.program = program
        self.obeys_stop = obeys_stop
        self.create_fails = create_fails
        self.files_fail = files_fail
        self.made: list[FakeSandbox] = []

    async def create(self, limits: Limits, run_id: str, origin: Origin) -> FakeSandbox:
        if self.create_fails is not None:
            raise self.create_fails
        sandbox = FakeSandbox(run_id, self.program, self.obeys_stop, self.files_fail if origin is Origin.POOL else None)
        self.made.append(sandbox)
        return sandbox

    def can_adapt(self, made_with: Limits, wanted: Limits) -> bool:
        return made_with == wanted

    async def adapt(self, sandbox: Any, made_with: Limits, wanted: Limits) -> None:
        pass

    isolation = "container"

    def can_renew(self, sandbox: Any) -> bool:
        return False  # one run per sandbox, as in container mode

    async def renew(self, sandbox: Any, run_id: str) -> bool:
        raise AssertionError("never renewed: can_renew is False")

    def discard(self, sandbox: Any) -> None:
        if not sandbox.discarded:
            sandbox.discarded = True
            sandbox.vanish()

    async def settled(self) -> None: ...

    async def ping(self) -> bool:
        return True

    async def image_present(self) -> bool:
        return True

    async def read_versions(self) -> dict[str, str]:
        return {}

    async def reap_leftovers(self) -> int:
        return 0

    async def close(self) -> None: ...


def make_runner(backend: FakeBackend) -> Runner:
    capacity = Capacity(4, 4)
    lifecycle = Lifecycle()
    door = Door(AccessPolicy((), ()), DoorSettings(10, 1 << 20), Catalogue.load(SETTINGS.manifest), lifecycle)
    return Runner(
        policy=SETTINGS.limits,
        backend=backend,
        capacity=capacity,
        pool=None,
        limiter=ClientLimiter(8, 1000),
        shares=ShareRegistry(4, 1, 1 << 16),
        door=door,
        lifecycle=lifecycle,
    )


def request(**limits: float) -> RunRequest:
    message = parse_client_message(json.dumps({"type": "run", "language": "python", "source": "x", "limits": limits}))
    assert isinstance(message, RunRequest)
    return message


async def events_of(
    runner: Runner,
    run: RunRequest,
    during: Callable[[Runner], Awaitable[None]] | None = None,
) -> list[AnyEvent]:
    participation = await runner.start(run, CREDENTIALS, stdin_closed=True)
    if during is not None:
        await during(runner)
        await participation.send(parse_client_message('{"type": "signal", "signal": "SIGKILL"}'))
    events: list[AnyEvent] = []
    while (frame := await asyncio.wait_for(participation.next_frame(), 10)) is not None:
        events.append(frame.event)
    participation.leave()
    return events


async def prints_then(sandbox: FakeSandbox, ending: Callable[[FakeSandbox], None] | None) -> None:
    sandbox.say("working\n")
    await asyncio.sleep(0.01)  # the program works a while before it ends (the scenario, not a wait)
    if ending is not None:
        ending(sandbox)


async def test_a_sandbox_that_vanishes_under_a_running_program_is_sandbox_lost_not_a_verdict() -> None:
    backend = FakeBackend(lambda s: prints_then(s, FakeSandbox.vanish))
    events = await events_of(make_runner(backend), request())
    assert [type(e) for e in events] == [Started, StageBegan, Stdout, Error]
    error = events[-1]
    assert isinstance(error, Error) and error.code is ErrorCode.SANDBOX_LOST
    assert "it has no verdict" in error.message
    assert not any(isinstance(e, Exited) for e in events), "no verdict for a program that did nothing wrong"
    assert backend.made[0].discarded


async def test_the_http_fold_raises_sandbox_lost_with_its_close_code() -> None:
    runner = make_runner(FakeBackend(lambda s: prints_then(s, FakeSandbox.vanish)))
    with pytest.raises(ProtocolError) as caught:
        await runner.execute(request(), CREDENTIALS)
    assert caught.value.code is ErrorCode.SANDBOX_LOST and caught.value.close_code == 1011
    assert runner.capacity.running == 0, "the lost run gave its slot back"


async def test_a_whole_sandbox_oom_the_backend_reports_stays_memory_limit() -> None:
    events = await events_of(
        make_runner(FakeBackend(lambda s: prints_then(s, lambda box: box.exit(None, "SIGKILL", oom=True)))), request()
    )
    assert isinstance(events[-1], Exited) and events[-1].verdict is Verdict.MEMORY_LIMIT


async def test_a_sandbox_the_watchdog_removed_keeps_the_timeout_verdict() -> None:
    """The sandbox ignores the stop (a stuck agent): the backstop removes it, and the verdict is the server's."""
    backend = FakeBackend(lambda s: prints_then(s, None), obeys_stop=False)
    started = time.monotonic()
    events = await events_of(make_runner(backend), request(run_timeout_s=0.2))
    assert isinstance(events[-1], Exited) and events[-1].verdict is Verdict.TIMEOUT
    assert events[-1].signal == "SIGKILL" and backend.made[0].discarded
    assert time.monotonic() - started < 3


async def test_a_client_sigkill_the_sandbox_ignores_ends_in_removal_with_the_killed_verdict() -> None:
    async def running(runner: Runner) -> None:
        await eventually(lambda: bool(backend.made) and backend.made[0].running, 1)

    backend = FakeBackend(lambda s: prints_then(s, None), obeys_stop=False)
    events = await events_of(make_runner(backend), request(), during=running)
    assert isinstance(events[-1], Exited) and events[-1].verdict is Verdict.KILLED
    assert backend.made[0].signals == [9] and backend.made[0].discarded


async def test_a_sandbox_that_cannot_be_made_is_internal_since_no_program_ran() -> None:
    events = await events_of(make_runner(FakeBackend(create_fails=SandboxLost("the engine went away"))), request())
    assert isinstance(events[-1], Error) and events[-1].code is ErrorCode.INTERNAL
    assert not any(isinstance(e, Started) for e in events)


def test_only_a_sandbox_lost_during_a_stage_is_sandbox_lost() -> None:
    assert sandbox_failure(SandboxLost("gone"), Stage.RUN).code is ErrorCode.SANDBOX_LOST
    assert sandbox_failure(SandboxLost("gone"), Stage.COMPILE).code is ErrorCode.SANDBOX_LOST
    assert sandbox_failure(SandboxLost("gone"), None).code is ErrorCode.INTERNAL
    assert sandbox_failure(SandboxError("a malformed exit"), Stage.RUN).code is ErrorCode.INTERNAL


async def test_a_lost_pooled_sandbox_gives_way_to_a_cold_one_and_the_pool_is_renewed() -> None:
    backend = FakeBackend(files_fail=SandboxLost("it ended before it answered"))
    limits = SETTINGS.limits.defaults
    pool = WarmPool(backend, Capacity(4, 4), limits, pool_sizing(Settings.from_env({"PADBOX_POOL_SIZE": "2"})))
    pool.start()
    await eventually(lambda: pool.ready == 2, 1)
    stale = list(backend.made)
    sandbox = await SandboxSupply(backend, pool).acquire(limits, "cold-run", ())
    assert sandbox.run_id == "cold-run"
    assert all(s.discarded for s in stale), "the other pooled sandbox went too"
    await eventually(lambda: pool.ready == 2, 5, "the pool refilled")
    await pool.drain()


# --- the liveness check: an AgentSandbox over an in-memory link ---------------------------------------------


class SilentLink:
    """An agent link whose agent answers PING with PONG while `answering`, and says nothing else."""

    def __init__(self, answering: bool) -> None:
        self.answering = answering
        self.pings = 0
        self.incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.decoder = FrameDecoder()

    async def write(self, data: bytes) -> None:
        for kind, _ in self.decoder.feed(data):
            if kind == Kind.PING:
                self.pings += 1
                if self.answering:
                    self.incoming.put_nowait(encode(Kind.PONG))

    async def read(self) -> bytes | None:
        return await self.incoming.get()

    async def last_word(self) -> ProcessExit | None:
        return None


SPEC = ProcessSpec(argv=("sleep", "60"), env={}, tty=False, cols=80, rows=24, cpu_time_s=10)
FAST = Liveness(ping_s=0.05, timeout_s=0.4)


async def test_a_sandbox_whose_agent_stops_answering_is_lost_within_the_liveness_timeout() -> None:
    link = SilentLink(answering=False)
    sandbox = AgentSandbox(link, "run", "box", FAST)
    await sandbox.execute(SPEC)
    started = time.monotonic()
    with pytest.raises(SandboxLost, match="did not answer for 0.4 s"):
        await sandbox.next_event()
    assert 0.4 <= time.monotonic() - started < 2
    assert link.pings >= 3, "pinged while it waited"


async def test_a_silent_program_whose_agent_answers_pings_is_not_lost() -> None:
    link = SilentLink(answering=True)
    sandbox = AgentSandbox(link, "run", "box", FAST)
    await sandbox.execute(SPEC)
    waiting = asyncio.create_task(sandbox.next_event())
    await asyncio.sleep(1.0)  # two and a half liveness timeouts of silence from the program
    assert not waiting.done(), "the PONGs kept it alive, and none reached the run engine"
    signer = ExitSigner(sandbox._key)
    signer.begin_stage()
    link.incoming.put_nowait(encode(Kind.EXIT, signer.sign(json_payload({"code": 0, "signal": None}))))
    assert await asyncio.wait_for(waiting, 1) == ProcessExit(code=0, signal=None)
    assert link.pings >= 5


async def test_a_printing_program_is_never_pinged() -> None:
    link = SilentLink(answering=False)
    sandbox = AgentSandbox(link, "run", "box", FAST)
    await sandbox.execute(SPEC)
    for _ in range(10):
        link.incoming.put_nowait(encode(Kind.STDOUT, b"tick\n"))
        assert await sandbox.next_event() == OutputChunk(Stream.STDOUT, b"tick\n")
        await asyncio.sleep(0.02)  # the program's pace: a line well within each liveness timeout
    assert link.pings == 0


async def test_a_timed_out_wait_for_the_agent_does_not_lose_the_read_under_way() -> None:
    """A handshake's timeout cancels its wait, not the link's read: the next frame still arrives whole."""
    link = SilentLink(answering=False)
    sandbox = AgentSandbox(link, "run", "box", FAST)
    with pytest.raises(SandboxError, match="did not become ready"):
        await sandbox.handshake(0.05)
    link.incoming.put_nowait(encode(Kind.READY, b"{}"))
    await sandbox.handshake(1)
