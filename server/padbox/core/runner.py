"""The one way into a run: every transport (/ws, /api/v1/execute, Piston's execute, a pad's run, anything
added later) starts, joins and awaits runs here, and gets nothing else: `start`, `join`, `execute` (and, for a
test run of the question bank, `count_start`: its one start against the client's rate). What a transport needs
besides runs (access, message limits, the node's id, draining) is the Door's (core/door.py).

Draining, access, planning, admission, sandbox supply and registration for sharing each happen
here once, in this order, so a guard cannot exist on one path and not another. The Node (padbox/node.py)
calls the engine's own life here: start-up (leftovers reaped, versions read, pool warmed), readiness, drain
and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial

from padbox.core.access import ClientCaps
from padbox.core.capacity import Capacity
from padbox.core.cases import CaseInput, CaseSession
from padbox.core.door import Credentials, Door, DoorSettings, Lifecycle, Phase, ShuttingDown
from padbox.core.events import Error
from padbox.core.languages import Catalogue
from padbox.core.limits import LimitPolicy
from padbox.core.pool import SandboxSupply, WarmPool
from padbox.core.protocol import INPUT_MESSAGES, CloseCode, ErrorCode, JoinMessage, ProtocolError, RunRequest
from padbox.core.sandbox import SandboxBackend, SandboxError
from padbox.core.session import Emit, Session, SessionObserver, plan_run, sandbox_failure
from padbox.core.sharing import Frame, Participant, SharedRun, ShareRegistry, ViewerInputRefused
from padbox.core.transcript import RunRecord

log = logging.getLogger("padbox.runner")

__all__ = ["Credentials", "DoorSettings", "Participation", "Readiness", "Runner", "ShuttingDown"]


@dataclass(frozen=True)
class Readiness:
    """Whether runs can start now, and if not, which part is missing."""

    engine: bool
    image: bool
    prepared: bool
    draining: bool
    isolation: str = "container"  # how runs are kept apart: "namespace" (a box per run) or "container"

    @property
    def ready(self) -> bool:
        return self.engine and self.image and self.prepared and not self.draining


class Participation:
    """One client's place in one run: the frames meant for it, its input, its leaving."""

    def __init__(self, run: SharedRun, participant: Participant) -> None:
        self.run = run
        self.participant = participant

    async def next_frame(self) -> Frame | None:
        """The next frame for this client; None when the run is over for it."""
        return await self.participant.outbox.take()

    @property
    def close_code(self) -> int:
        return self.participant.outbox.close_code or CloseCode.NORMAL

    @property
    def error(self) -> ProtocolError | None:
        """The run's own error, once it ended with one (refused at admission, its sandbox lost...)."""
        return self.run.session.error

    async def send(self, message: object) -> None:
        """Input from this client. A viewer's is refused with an `error` frame; it keeps watching."""
        assert isinstance(message, INPUT_MESSAGES)
        try:
            await self.run.input(self.participant, message)
        except ViewerInputRefused as refused:
            self.participant.outbox.offer(Frame.of(Error.of(refused)))

    def hear_input(self) -> None:
        """From now on this participant is also sent what drivers type (`input` frames), terminal or not: a
        recorder keeps the run's transcript with its input."""
        self.participant.hears_input = True

    def leave(self) -> None:
        self.run.leave(self.participant)


PROBE_TIMEOUT_S = 3.0


class Runner:
    """The run engine's single entry point: `start`, `join`, `execute`, `count_start` (and, for the Node, its own
    life)."""

    def __init__(
        self,
        *,
        policy: LimitPolicy,
        backend: SandboxBackend,
        capacity: Capacity,
        pool: WarmPool | None,
        limiter: ClientCaps,
        shares: ShareRegistry,
        door: Door,
        lifecycle: Lifecycle,
        observers: tuple[SessionObserver, ...] = (),
    ) -> None:
        self.policy = policy
        self.backend = backend
        self.capacity = capacity
        self.pool = pool
        self.supply = SandboxSupply(backend, pool)
        self.limiter = limiter
        self.shares = shares
        self.door = door
        self.lifecycle = lifecycle  # written here (prepared, the phase), read by the door and the cluster
        self.observers = observers
        self.reaped = False  # an earlier server's leftovers were removed (once the engine first answered)

    @property
    def catalogue(self) -> Catalogue:
        """The languages runs are planned with (the door's: the image's versions once read)."""
        return self.door.catalogue

    # --- runs -----------------------------------------------------------------------------------
    def _admit(self, credentials: Credentials) -> str:
        """Draining first, then origin and token: the client's identity for per-client caps."""
        if self.lifecycle.draining:
            raise ShuttingDown()
        return self.door.authorize(credentials)

    async def start(
        self,
        request: RunRequest,
        credentials: Credentials,
        stdin_closed: bool = False,
        cases: tuple[CaseInput, ...] = (),
        rated: bool = True,
    ) -> Participation:
        """Start a run; its starter is its first driver. `stdin_closed`: the request held all the input. `cases`:
        a test run (core/cases.py), compiled once and run once per case, each with its own stdin. `rated=False`:
        part of a test run whose one start `count_start` counted; it is admitted as any run but for the rate."""
        client = self._admit(credentials)
        plan = plan_run(request, self.catalogue, self.policy, self.door.node_id)

        def session(emit: Emit) -> Session:
            if cases:
                return CaseSession(plan, emit, client, self.observers, self.backend.discard, cases=cases)
            return Session(plan, emit, client, self.observers, self.backend.discard)

        run = self.shares.create(session, partial(self._execute, rated=rated))
        participant = run.attach_starter()
        if stdin_closed:
            await run.session.send_eof()
        run.start()
        return Participation(run, participant)

    async def count_start(self, credentials: Credentials, start: str) -> None:
        """Count a test run as one start against the client's per-minute rate (PADBOX_SESSIONS_PER_MINUTE),
        whatever its number of cases; ClientBusy when over it. Its cases then start with `rated=False`: each
        still holds one of the client's running sessions and a place in the global capacity."""
        await self.limiter.count_start(self._admit(credentials), start)

    async def join(self, message: JoinMessage, credentials: Credentials) -> Participation:
        """Join a running run by its id and key. A draining server still takes joins: its runs go on until
        they end or the drain time is up, and their people may come back to them."""
        if self.lifecycle.stopping:
            raise ShuttingDown()
        self.door.authorize(credentials)
        run = self.shares.find(message.run_id, message.key, message.role)
        return Participation(run, run.join(message.role))

    async def execute(self, request: RunRequest, credentials: Credentials) -> RunRecord:
        """Run to the end with the request's stdin only, and fold what happened (the HTTP APIs).

        Raises ProtocolError when the run was refused or failed; cancelling the caller (a client that
        left) ends the run and removes its sandbox."""
        participation = await self.start(request, credentials, stdin_closed=True)
        record = RunRecord()
        try:
            while (frame := await participation.next_frame()) is not None:
                record.add(frame.event)
        finally:
            participation.leave()
        if record.error is not None:
            # The session's own error keeps its kind (a client's caps, not the server's, say); an error
            # the run did not raise itself (the server shutting down) is known only by its event.
            problem = participation.error or record.error.problem()
            if problem.code is ErrorCode.INTERNAL and self.lifecycle.draining:
                raise ShuttingDown("the server is shutting down; the run was stopped")
            raise problem
        return record

    async def _execute(self, session: Session, rated: bool = True) -> None:
        """Admission, a sandbox, the stages; user-caused problems end as an `error` event, never raise."""
        plan = session.plan
        try:
            async with AsyncExitStack() as admitted:
                await admitted.enter_async_context(self.limiter.admitted(session.client, session.id, rated))
                await admitted.enter_async_context(self.capacity.slot(session.queued))
                sandbox = await self.supply.acquire(plan.limits, plan.run_id, plan.files)
                reusable = False
                try:
                    await session.run_in(sandbox)
                    reusable = session.ended_cleanly
                finally:
                    self.supply.release(sandbox, plan.limits, reusable)
        except ProtocolError as refused:  # at admission: busy
            await session.fail(refused)
        except SandboxError as exc:  # lost under a running program (`sandbox_lost`), or failed (`internal`)
            problem = sandbox_failure(exc, session.stage)
            log.error("session %s: %s", session.id, problem.message)
            await session.fail(problem)
        finally:
            self.supply.returned()
            session.finish()

    # --- the server's life ----------------------------------------------------------------------
    async def start_up(self) -> None:
        """Without an engine or an image the server still starts: readiness says what is missing (a load
        balancer sees "not ready", not a crash loop) and runs fail with an `internal` error."""
        if not await self.backend.ping():
            log.error("no sandbox engine answers; run `make run`, which starts Docker, or check DOCKER_HOST")
            return
        try:
            await self.reap()
        except SandboxError as exc:  # the engine went away again: readiness reaps when it answers
            log.error("start-up: %s", exc)
            return
        if not await self.backend.image_present():
            log.error("the runner image is missing; build it with `make image`")
            return
        await self.prepare()

    async def reap(self) -> None:
        """Remove an earlier server's leftovers, before any session of ours can exist: at start-up, or when
        the engine first answers if it was away then."""
        reaped = await self.backend.reap_leftovers()
        self.reaped = True
        if reaped:
            log.warning("removed %d sandbox(es) left by an earlier server", reaped)

    async def prepare(self) -> None:
        """What needs the image: its language versions, and the warm pool."""
        self.door.learn_versions(await self.backend.read_versions())
        if self.pool:
            self.pool.start()
        self.lifecycle.prepared = True

    async def readiness(self) -> Readiness:
        """Whether runs can start; finishes start-up here when the image has appeared since."""
        engine = await _answers(self.backend.ping())
        image = engine and await _answers(self.backend.image_present())
        if image and not self.lifecycle.prepared:
            try:
                if not self.reaped:
                    await self.reap()
                await self.prepare()
            except Exception as exc:  # reported as not ready, and logged
                log.error("could not finish start-up: %s", exc)
        return Readiness(engine, image, self.lifecycle.prepared, self.lifecycle.draining, self.backend.isolation)

    async def drain(self, within_s: float, settle_s: float = 0) -> int:
        """Refuse new runs and wait up to `within_s` for the running ones to end by themselves (a rolling
        restart drops no run that fits in the drain time); how many were still running then. For `settle_s`
        first, new runs are still taken while the load balancer learns (`leaving`) to send them elsewhere: a
        run that arrives in between is served, not refused."""
        self.lifecycle.advance(Phase.LEAVING)
        await asyncio.sleep(settle_s)
        self.lifecycle.advance(Phase.DRAINING)
        if self.pool:
            await self.pool.drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self.shares.active and loop.time() < deadline:
            await asyncio.sleep(0.1)
        return len(self.shares.active)

    async def shut_down(self) -> None:
        """Refuse new runs, tell every client, and remove every sandbox."""
        self.lifecycle.advance(Phase.STOPPING)
        if self.pool:
            await self.pool.drain()
        await self.shares.shut_down()
        await self.backend.settled()
        try:
            await self.backend.reap_leftovers()  # belt and braces: nothing of this instance outlives the server
        except SandboxError as exc:  # no engine to ask (it is down): then there is nothing running to remove
            log.warning("shutdown: %s", exc)

    async def close(self) -> None:
        await self.backend.close()


async def _answers(check: Awaitable[bool]) -> bool:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):  # not wait_for: see websocket.py
            return await check
    except TimeoutError:
        return False
