"""The Runner, assembled as the server assembles it but over an in-memory sandbox backend: admission and
per-client caps, the queue, sandbox failures, abandoned runs, `execute`, start-up and draining, and the
web app refusing runs during shutdown the same way over /ws and over HTTP."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from padbox.assembly import assemble
from padbox.config import Settings
from padbox.core import sharing
from padbox.core.access import ClientBusy
from padbox.core.capacity import Busy
from padbox.core.events import AnyEvent, Error, Exited, Queued, Started
from padbox.core.protocol import (
    CloseCode,
    ErrorCode,
    JoinMessage,
    ProtocolError,
    RunRequest,
    SourceFile,
    Stage,
    Verdict,
)
from padbox.core.runner import Credentials, Participation, Runner, ShuttingDown
from padbox.core.sandbox import Origin, Stream
from padbox.core.session import Session
from padbox.questions.model import TestCase
from padbox.questions.test_runs import CaseResult, CaseSpec, run_cases
from padbox.web.app import create_app
from tests.eventually import eventually
from tests.unit.fake_sandbox import Echo, Fail, FakeBackend, Hang, Write
from tests.unit.test_run_engine import exited, story

with warnings.catch_warnings():
    # Starlette asks for httpx2 when it finds httpx; httpx is what the test extras install.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

REQUEST = RunRequest(language="python", source="print('hi')")
CLIENT = Credentials({}, {}, "10.0.0.1")
OTHER_CLIENT = Credentials({}, {}, "10.0.0.2")
# No warm pool unless a test asks for one: each run's sandbox is then made for it, and visible.
ENV = {"PADBOX_POOL_SIZE": "0", "PADBOX_DEFAULT_RUN_TIMEOUT_S": "2", "PADBOX_DEFAULT_COMPILE_TIMEOUT_S": "2"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**ENV, **env})


class Recorder:
    """A SessionObserver that keeps what it was told: every event, and each session that ended."""

    def __init__(self) -> None:
        self.events: list[AnyEvent] = []
        self.ended: list[Session] = []

    def event(self, session: Session, event: AnyEvent) -> None:
        self.events.append(event)

    def finished(self, session: Session) -> None:
        self.ended.append(session)


Assemble = Callable[..., tuple[Runner, FakeBackend, Recorder]]


@pytest.fixture
async def assembled() -> AsyncIterator[Assemble]:
    """Runners assembled by `assemble` over a FakeBackend (settings from keyword arguments), each with a
    recording observer after the real ones; every runner is shut down when the test ends."""
    runners: list[Runner] = []

    def make(backend: FakeBackend | None = None, **env: str) -> tuple[Runner, FakeBackend, Recorder]:
        backend = backend or FakeBackend([])
        runner = assemble(settings(**env), backend).runner
        recorder = Recorder()
        runner.observers = (*runner.observers, recorder)
        runners.append(runner)
        return runner, backend, recorder

    yield make
    for runner in runners:
        await runner.shut_down()


async def frames(participation: Participation) -> list[AnyEvent]:
    """Every event meant for this participant, until its run is over for it."""
    events = []
    async with asyncio.timeout(2):
        while (frame := await participation.next_frame()) is not None:
            events.append(frame.event)
    return events


async def next_event(participation: Participation) -> AnyEvent:
    frame = await asyncio.wait_for(participation.next_frame(), 1)
    assert frame is not None
    return frame.event


def settled(runner: Runner) -> bool:
    """Nothing held: no slot, no queue, no per-client count, no run."""
    return (
        runner.capacity.running,
        runner.capacity.queue_length,
        dict(runner.limiter.running),
        runner.shares.active,
    ) == (0, 0, {}, set())


# --- one run, start to end -------------------------------------------------------------------------------
async def test_a_run_ends_with_its_sandbox_discarded_nothing_held_and_every_observer_told(assembled: Assemble) -> None:
    runner, backend, recorder = assembled(FakeBackend([Write(b"hi\n"), exited(0)]))
    participation = await runner.start(REQUEST, CLIENT)
    events = await frames(participation)
    session = participation.run.session
    assert story(events) == [
        ("started", "python", "unknown"),
        ("stage", Stage.RUN),
        ("stdout", Stage.RUN, "hi\n"),
        ("exit", Stage.RUN, Verdict.OK),
    ]
    (sandbox,) = backend.sandboxes
    assert (sandbox.run_id, sandbox.origin, sandbox.files) == (session.id, Origin.COLD, list(session.plan.files))
    assert backend.leaked() == [] and participation.close_code == CloseCode.NORMAL
    assert settled(runner)
    started = events[0]
    assert isinstance(started, Started) and (started.driver_key, started.viewer_key) == (
        participation.run.driver_key,
        participation.run.viewer_key,
    )
    assert [type(e) for e in recorder.events] == [type(e) for e in events] and recorder.ended == [session]


async def test_a_pooled_sandbox_brings_its_own_run_id(assembled: Assemble) -> None:
    runner, backend, _ = assembled(FakeBackend([]), PADBOX_POOL_SIZE="1")
    await runner.start_up()
    await eventually(lambda: runner.pool is not None and runner.pool.ready == 1, 1)
    (pooled,) = backend.sandboxes
    events = await frames(await runner.start(REQUEST, CLIENT))
    started = events[0]
    assert isinstance(started, Started) and started.id == pooled.run_id
    assert pooled.discards == 1 and pooled.files


async def test_a_renewable_sandbox_hosts_the_next_run_under_a_new_id(assembled: Assemble) -> None:
    runner, backend, _ = assembled(FakeBackend([Write(b"hi\n"), exited(0)], renewable=True), PADBOX_POOL_SIZE="1")
    await runner.start_up()
    await eventually(lambda: runner.pool is not None and runner.pool.ready == 1, 5)
    first = await frames(await runner.start(REQUEST, CLIENT))
    await eventually(lambda: runner.pool is not None and runner.pool.renewed == 1 and runner.pool.ready == 1, 5)
    second = await frames(await runner.start(REQUEST, CLIENT))
    (host,) = backend.sandboxes  # the pool made no other: the one out with a run stood in for its target
    ids = [e.id for e in (first[0], second[0]) if isinstance(e, Started)]
    assert len(set(ids)) == 2 and ids[1] == host.run_id and host.runs == 2
    assert story(second)[-1] == ("exit", Stage.RUN, Verdict.OK) and host.discards == 0


async def test_a_sandbox_that_failed_mid_run_is_never_renewed(assembled: Assemble) -> None:
    runner, backend, _ = assembled(FakeBackend([Write(b"partial"), Fail("the agent crashed")], renewable=True))
    await frames(await runner.start(REQUEST, CLIENT))
    (sandbox,) = backend.sandboxes
    assert sandbox.discards == 1 and sandbox.runs == 1


# --- admission -----------------------------------------------------------------------------------------
async def test_a_client_over_its_own_cap_gets_busy_and_holds_no_capacity(assembled: Assemble) -> None:
    runner, backend, recorder = assembled(FakeBackend([Hang()]), PADBOX_MAX_SESSIONS_PER_CLIENT="1")
    first = await runner.start(REQUEST, CLIENT)
    await eventually(lambda: bool(backend.sandboxes) and backend.sandboxes[0].running, 1)
    refused = await runner.start(REQUEST, CLIENT)
    (error,) = await frames(refused)
    assert isinstance(error, Error) and error.code is ErrorCode.BUSY and error.retry_after_s == 1
    assert isinstance(refused.run.session.error, ClientBusy)
    assert refused.close_code == CloseCode.TRY_AGAIN_LATER
    assert runner.capacity.running == 1 and len(backend.sandboxes) == 1
    assert refused.run.session in recorder.ended
    other = await runner.start(REQUEST, OTHER_CLIENT)  # another client is not held back
    assert isinstance(await next_event(other), Started)
    first.leave()
    other.leave()
    await eventually(lambda: settled(runner), 1)
    assert backend.leaked() == []


async def test_a_test_run_is_one_start_against_the_rate_however_many_cases_it_has(assembled: Assemble) -> None:
    runner, _, _ = assembled(
        FakeBackend([Write(b"ok\n"), exited(0)]), PADBOX_SESSIONS_PER_MINUTE="2", PADBOX_MAX_SESSIONS_PER_CLIENT="2"
    )
    specs = [CaseSpec(TestCase(name=f"case {i}", stdin="", expected="ok\n")) for i in range(6)]
    files = (SourceFile("main.py", "print(input())"),)

    async def told(result: CaseResult) -> None:
        pass

    for test_run in ("first", "second"):  # 12 cases in all, over a rate of 2 starts a minute
        await runner.count_start(CLIENT, test_run)
        outcome = await run_cases(runner, runner.catalogue.resolve("python"), files, specs, CLIENT, told, parallel=2)
        assert outcome.summary == "6/6 passed", outcome.results
    with pytest.raises(ClientBusy, match="started 2 sessions in the last minute"):
        await runner.count_start(CLIENT, "third")
    (error,) = await frames(await runner.start(REQUEST, CLIENT))  # an ordinary run counts against the same rate
    assert isinstance(error, Error) and error.code is ErrorCode.BUSY
    await runner.count_start(OTHER_CLIENT, "another client's")
    await eventually(lambda: settled(runner), 1)


async def test_a_full_queue_refuses_with_busy(assembled: Assemble) -> None:
    runner, backend, _ = assembled(FakeBackend([Hang()]), PADBOX_MAX_SESSIONS="1", PADBOX_QUEUE_LIMIT="1")
    running = await runner.start(REQUEST, CLIENT)
    assert isinstance(await next_event(running), Started)
    waiting = await runner.start(REQUEST, CLIENT)
    assert await next_event(waiting) == Queued(1)
    refused = await runner.start(REQUEST, CLIENT)
    (error,) = await frames(refused)
    assert isinstance(error, Error) and error.code is ErrorCode.BUSY and "at capacity" in error.message
    assert isinstance(refused.run.session.error, Busy) and not isinstance(refused.run.session.error, ClientBusy)
    assert len(backend.sandboxes) == 1
    running.leave()
    waiting.leave()
    await eventually(lambda: settled(runner), 1)
    assert backend.leaked() == []


async def test_a_waiting_run_is_told_its_position_as_it_moves_up_and_starts_when_a_slot_frees(
    assembled: Assemble,
) -> None:
    runner, backend, _ = assembled(FakeBackend([Hang()]), PADBOX_MAX_SESSIONS="1")
    running = await runner.start(REQUEST, CLIENT)
    assert isinstance(await next_event(running), Started)
    second = await runner.start(REQUEST, CLIENT)
    third = await runner.start(REQUEST, CLIENT)
    assert (await next_event(second), await next_event(third)) == (Queued(1), Queued(2))
    second.leave()  # a waiter that goes away leaves the queue at once, and no sandbox is made for it
    assert await next_event(third) == Queued(1)
    running.leave()
    assert isinstance(await next_event(third), Started)
    assert len(backend.sandboxes) == 2
    third.leave()
    await eventually(lambda: settled(runner), 1)
    assert backend.leaked() == []


# --- failures and leaving --------------------------------------------------------------------------------
async def test_a_sandbox_the_backend_cannot_create_is_an_internal_error_with_its_message(assembled: Assemble) -> None:
    backend = FakeBackend([])
    backend.create_error = "the engine refused"
    runner, _, recorder = assembled(backend)
    participation = await runner.start(REQUEST, CLIENT)
    assert await frames(participation) == [Error(ErrorCode.INTERNAL, "the sandbox failed: the engine refused")]
    assert participation.close_code == CloseCode.INTERNAL_ERROR
    assert settled(runner) and recorder.ended == [participation.run.session]


async def test_a_sandbox_failing_mid_run_is_an_internal_error_and_the_sandbox_is_discarded(
    assembled: Assemble,
) -> None:
    runner, backend, _ = assembled(FakeBackend([Write(b"partial"), Fail("the agent crashed")]))
    events = await frames(await runner.start(REQUEST, CLIENT))
    assert story(events)[1:] == [("stage", Stage.RUN), ("stdout", Stage.RUN, "partial"), ("Error",)]
    assert events[-1] == Error(ErrorCode.INTERNAL, "the sandbox failed: the agent crashed")
    assert backend.leaked() == [] and settled(runner)


async def test_the_only_driver_leaving_abandons_the_run_and_its_sandbox_is_discarded(assembled: Assemble) -> None:
    runner, backend, recorder = assembled(FakeBackend([Hang()]))
    participation = await runner.start(REQUEST, CLIENT)
    await eventually(lambda: bool(backend.sandboxes) and backend.sandboxes[0].running, 1)
    participation.leave()
    await asyncio.wait_for(participation.run.finished.wait(), 1)
    assert backend.discarded == backend.sandboxes and settled(runner)
    assert recorder.ended == [participation.run.session]


@pytest.mark.parametrize("frames_read", [1, 2, 3, 10])
async def test_the_only_driver_leaving_while_output_streams_abandons_the_run(
    assembled: Assemble, frames_read: int
) -> None:
    runner, backend, _ = assembled(FakeBackend([*[Write(b"x")] * 1000, Hang()]))
    participation = await runner.start(REQUEST, CLIENT)
    for _ in range(frames_read):  # the run is delivering its next frame when the client leaves
        await next_event(participation)
    participation.leave()
    await asyncio.wait_for(participation.run.finished.wait(), 1)
    assert backend.discarded == backend.sandboxes and settled(runner)


async def test_a_lone_client_that_stops_reading_is_dropped_and_its_run_ends(
    assembled: Assemble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sharing, "STALLED_READER_S", 0.05)
    runner, backend, _ = assembled(FakeBackend([*[Write(b"x" * 65536)] * 40, Hang()]))
    participation = await runner.start(RunRequest(language="python", source="x", limits={"output_kb": 4096}), CLIENT)
    await asyncio.wait_for(participation.run.finished.wait(), 1)  # nobody reads: its outbox fills
    assert participation.close_code == CloseCode.TRY_AGAIN_LATER
    assert backend.discarded == backend.sandboxes and settled(runner)


# --- execute: the HTTP APIs' way in ----------------------------------------------------------------------
async def test_execute_returns_the_runs_record_with_the_requests_stdin_then_eof(assembled: Assemble) -> None:
    runner, backend, _ = assembled(FakeBackend([Echo(), Write(b"oops", Stream.STDERR), exited(3)]))
    record = await runner.execute(RunRequest(language="python", source="x", stdin="in\n"), CLIENT)
    ran = record.stages[Stage.RUN]
    assert (ran.stdout, ran.stderr, record.verdict) == ("in\n", "oops", Verdict.RUNTIME_ERROR)
    assert isinstance(ran.exit, Exited) and ran.exit.code == 3
    assert backend.sandboxes[0].stdin == [b"in\n", None] and backend.leaked() == []


async def test_execute_raises_the_sessions_own_error_kind(assembled: Assemble) -> None:
    runner, backend, _ = assembled(FakeBackend([Hang()]), PADBOX_MAX_SESSIONS_PER_CLIENT="1")
    holder = await runner.start(REQUEST, CLIENT)
    assert isinstance(await next_event(holder), Started)
    with pytest.raises(ClientBusy):
        await runner.execute(REQUEST, CLIENT)
    holder.leave()
    await eventually(lambda: settled(runner), 1)
    backend.create_error = "no engine"
    with pytest.raises(ProtocolError, match="the sandbox failed: no engine") as failed:
        await runner.execute(REQUEST, CLIENT)
    assert failed.value.code is ErrorCode.INTERNAL and not isinstance(failed.value, ShuttingDown)


async def test_execute_raises_shutting_down_for_a_run_the_shutdown_stopped(assembled: Assemble) -> None:
    runner, backend, _ = assembled(FakeBackend([Hang()]))
    executing = asyncio.create_task(runner.execute(REQUEST, CLIENT))
    await eventually(lambda: bool(backend.sandboxes) and backend.sandboxes[0].running, 1)
    await runner.shut_down()
    with pytest.raises(ShuttingDown, match="the run was stopped"):
        await asyncio.wait_for(executing, 1)
    assert backend.leaked() == [] and settled(runner)


# --- the server's life ---------------------------------------------------------------------------------
async def test_start_up_reaps_leftovers_reads_versions_and_warms_the_pool(assembled: Assemble) -> None:
    backend = FakeBackend()
    backend.versions = {"python": "3.fake"}
    runner, _, _ = assembled(backend, PADBOX_POOL_SIZE="2")
    await runner.start_up()
    assert backend.reaps == 1 and runner.catalogue.version(runner.catalogue.resolve("python")) == "3.fake"
    await eventually(lambda: runner.pool is not None and runner.pool.ready == 2, 1)
    assert (await runner.readiness()).ready
    await runner.shut_down()
    assert [s.origin for s in backend.discarded] == [Origin.POOL, Origin.POOL] and backend.leaked() == []
    state = await runner.readiness()
    assert state.draining and not state.ready


async def test_once_shutdown_begins_start_join_and_execute_refuse_with_going_away(assembled: Assemble) -> None:
    runner, backend, _ = assembled()
    shutting = asyncio.create_task(runner.shut_down())

    async def draining() -> bool:
        return (await runner.readiness()).draining

    await eventually(draining, 5, "the shutdown begun")
    attempts: list[Any] = [
        runner.start(REQUEST, CLIENT),
        runner.join(JoinMessage(run_id="any", key="any"), CLIENT),
        runner.execute(REQUEST, CLIENT),
    ]
    for attempt in attempts:
        with pytest.raises(ShuttingDown) as refused:
            await attempt
        assert refused.value.code is ErrorCode.INTERNAL and refused.value.close_code == CloseCode.GOING_AWAY
    await shutting
    assert backend.sandboxes == [] and runner.shares.active == set()


def test_ws_refuses_a_new_run_during_shutdown_exactly_as_http_does(tmp_path: Path) -> None:
    backend = FakeBackend([])
    assembly = assemble(settings(PADBOX_DATA_DIR=str(tmp_path)), backend)
    with TestClient(create_app(assembly.served, assembly.node)) as client:
        assert client.portal is not None
        client.portal.call(assembly.runner.shut_down)
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "run", "language": "python", "source": "print(1)"})
            frame = ws.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        answer = client.post("/api/v1/execute", json={"language": "python", "source": "print(1)"})
    assert frame == {"type": "error", "code": "internal", "message": "the server is shutting down"}
    assert closed.value.code == CloseCode.GOING_AWAY
    assert answer.status_code == 503 and answer.json() == frame
    assert backend.sandboxes == [] and backend.closed
