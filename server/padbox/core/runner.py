"""The one way into a run: every transport (/ws, /api/v1/execute, Piston's execute, anything added
later) starts, joins and awaits runs here, and gets nothing else.

Draining, access, planning, admission, sandbox supply and registration for sharing each happen
here once, in this order, so a guard cannot exist on one path and not another. The Runner also owns
the server's life: start-up (leftovers reaped, versions read, pool warmed), readiness and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass

from padbox.core.access import AccessPolicy, ClientCaps
from padbox.core.capacity import Capacity
from padbox.core.cluster import Membership, owner_of
from padbox.core.events import Error
from padbox.core.languages import Catalogue
from padbox.core.limits import LimitPolicy
from padbox.core.pool import SandboxSupply, WarmPool
from padbox.core.protocol import (
    INPUT_MESSAGES,
    CloseCode,
    ErrorCode,
    JoinMessage,
    ProtocolError,
    RunRequest,
)
from padbox.core.sandbox import SandboxBackend, SandboxError
from padbox.core.session import Emit, Session, SessionObserver, plan_run, sandbox_failure
from padbox.core.sharing import SHUTTING_DOWN, Frame, Participant, SharedRun, ShareRegistry, ViewerInputRefused
from padbox.core.transcript import RunRecord

log = logging.getLogger("padbox.runner")


class ShuttingDown(ProtocolError):
    """New runs are refused while the server drains (HTTP 503; a WebSocket closes with 1001)."""

    def __init__(self, message: str = SHUTTING_DOWN) -> None:
        super().__init__(ErrorCode.INTERNAL, message)

    @property
    def close_code(self) -> CloseCode:
        return CloseCode.GOING_AWAY


@dataclass(frozen=True)
class Credentials:
    """What a client showed at the door: its URL's query, its headers, its address."""

    query: Mapping[str, str]
    headers: Mapping[str, str]
    address: str | None


@dataclass(frozen=True)
class DoorSettings:
    """What the transports themselves enforce before a message reaches the runner."""

    first_message_timeout_s: float
    max_message_bytes: int


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

    async def send(self, message: object) -> None:
        """Input from this client. A viewer's is refused with an `error` frame; it keeps watching."""
        assert isinstance(message, INPUT_MESSAGES)
        try:
            await self.run.input(self.participant, message)
        except ViewerInputRefused as refused:
            self.participant.outbox.offer(Frame.of(Error.of(refused)))

    def leave(self) -> None:
        self.run.leave(self.participant)


PROBE_TIMEOUT_S = 3.0


class Runner:
    """The run engine's single entry point, and the server's lifecycle."""

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        policy: LimitPolicy,
        backend: SandboxBackend,
        capacity: Capacity,
        pool: WarmPool | None,
        access: AccessPolicy,
        limiter: ClientCaps,
        shares: ShareRegistry,
        door: DoorSettings,
        observers: tuple[SessionObserver, ...] = (),
        membership: Membership | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.policy = policy
        self.backend = backend
        self.capacity = capacity
        self.pool = pool
        self.supply = SandboxSupply(backend, pool)
        self.access = access
        self.limiter = limiter
        self.shares = shares
        self.door = door
        self.observers = observers
        self.membership = membership  # None: a single server, whose run ids name no node
        self.prepared = False  # the engine answered, the image is there, versions read, pool started
        self.reaped = False  # an earlier server's leftovers were removed (once the engine first answered)
        self.leaving = False  # shutdown is coming: the load balancer is told to send no new runs
        self.draining = False  # no new runs
        self.stopping = False  # shutdown began: running sessions are being ended, nothing may join them

    # --- runs -----------------------------------------------------------------------------------
    @property
    def node_id(self) -> str:
        """This node's id in a cluster, the front of every run id it makes; empty on a single server."""
        return self.membership.node_id if self.membership else ""

    def _admit(self, credentials: Credentials) -> str:
        """Draining first, then origin and token: the client's identity for per-client caps."""
        if self.draining:
            raise ShuttingDown()
        return self.access.authorize(credentials.query, credentials.headers, credentials.address)

    async def start(self, request: RunRequest, credentials: Credentials, stdin_closed: bool = False) -> Participation:
        """Start a run; its starter is its first driver. `stdin_closed`: the request held all the input."""
        client = self._admit(credentials)
        plan = plan_run(request, self.catalogue, self.policy, self.node_id)

        def session(emit: Emit) -> Session:
            return Session(plan, emit, client, self.observers, self.backend.discard)

        run = self.shares.create(session, self._execute)
        participant = run.attach_starter()
        if stdin_closed:
            await run.session.send_eof()
        run.start()
        return Participation(run, participant)

    async def owner_address(self, message: JoinMessage, credentials: Credentials) -> str | None:
        """Where a join must go: None when the run is this node's (then `join`), else the owner's address, for
        the transport to relay the client's socket to (a proxy in front did not route it there itself). The
        door's checks happen here, as for any join; RunLost when the owner is gone, Unavailable when the
        cluster's state cannot be read."""
        owner = owner_of(message.run_id)
        if self.membership is None or owner is None or owner == self.membership.node_id:
            return None
        self.access.authorize(credentials.query, credentials.headers, credentials.address)
        return await self.membership.locate(owner)

    async def join(self, message: JoinMessage, credentials: Credentials) -> Participation:
        """Join a running run by its id and key. A draining server still takes joins: its runs go on until
        they end or the drain time is up, and their people may come back to them."""
        if self.stopping:
            raise ShuttingDown()
        self.access.authorize(credentials.query, credentials.headers, credentials.address)
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
            problem = participation.run.session.error or record.error.problem()
            if problem.code is ErrorCode.INTERNAL and self.draining:
                raise ShuttingDown("the server is shutting down; the run was stopped")
            raise problem
        return record

    async def _execute(self, session: Session) -> None:
        """Admission, a sandbox, the stages; user-caused problems end as an `error` event, never raise."""
        plan = session.plan
        try:
            async with AsyncExitStack() as admitted:
                await admitted.enter_async_context(self.limiter.admitted(session.client, session.id))
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
        self.catalogue = self.catalogue.with_versions(await self.backend.read_versions())
        if self.pool:
            self.pool.start()
        self.prepared = True

    async def readiness(self) -> Readiness:
        """Whether runs can start; finishes start-up here when the image has appeared since."""
        engine = await _answers(self.backend.ping())
        image = engine and await _answers(self.backend.image_present())
        if image and not self.prepared:
            try:
                if not self.reaped:
                    await self.reap()
                await self.prepare()
            except Exception as exc:  # reported as not ready, and logged
                log.error("could not finish start-up: %s", exc)
        return Readiness(engine, image, self.prepared, self.draining, self.backend.isolation)

    async def drain(self, within_s: float, settle_s: float = 0) -> int:
        """Refuse new runs and wait up to `within_s` for the running ones to end by themselves (a rolling
        restart drops no run that fits in the drain time); how many were still running then. For `settle_s`
        first, new runs are still taken while the load balancer learns (`leaving`) to send them elsewhere: a
        run that arrives in between is served, not refused."""
        self.leaving = True
        await asyncio.sleep(settle_s)
        self.draining = True
        if self.pool:
            await self.pool.drain()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self.shares.active and loop.time() < deadline:
            await asyncio.sleep(0.1)
        return len(self.shares.active)

    async def shut_down(self) -> None:
        """Refuse new runs, tell every client, and remove every sandbox."""
        self.leaving = self.draining = self.stopping = True
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
