"""The Runner, assembled as the server assembles it but over an in-memory sandbox backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from padbox.assembly import assemble
from padbox.config import Settings
from padbox.core.events import AnyEvent
from padbox.core.protocol import RunRequest
from padbox.core.runner import Credentials, Participation, Runner
from padbox.core.session import Session

from tests.unit.fake_sandbox import FakeBackend, Hang, Write

REQUEST = RunRequest(language="python", source="print('hi')")
CLIENT = Credentials({}, {}, "10.0.0.1")
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
    return (runner.capacity.running, runner.capacity.queue_length, dict(runner.limiter.running),
            runner.shares.active) == (0, 0, {}, set())


# --- leaving ---------------------------------------------------------------------------------------------
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
