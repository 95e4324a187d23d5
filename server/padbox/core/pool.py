"""The warm pool: sandboxes created and started ahead of time, so no container is made on a run's
critical path. Each pooled sandbox is handed to exactly one session and then destroyed.

Pooled sandboxes are made by the same code, with the same hardened settings, as cold ones
(SandboxBackend.create with the default limits). Its size follows demand (core/pool_sizing.py): it grows
under a burst, holds while runs keep coming and shrinks back to its floor once they stop; it only fills
while running sessions leave room under PADBOX_MAX_SESSIONS, and within its memory budget.

One pool serves every language. A run whose limits differ from the defaults takes a pooled sandbox and
the backend changes its memory, swap and pids limits before the run's program starts (SandboxSupply).
Measured on a 2-core machine (docs/performance.md), `docker update` costs about 17 ms, done while the
files are written, against a pool per limits shape: about five shapes among the languages, each of which
would hold its own idle sandboxes (memory) and split the engine's refill rate, and a burst in one language
would still find its own pool empty. A run whose limits no pooled sandbox can be changed to (the backend's
`can_adapt`) gets a cold sandbox.

A run that finds the pool empty waits for the next sandbox the pool makes rather than starting one of its
own: that one is already under way, so it comes sooner than a cold start, and the engine is not asked
for more starts at once than it sustains.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Sequence

from padbox.core.capacity import Capacity
from padbox.core.cluster import run_id_for
from padbox.core.limits import Limits
from padbox.core.pool_sizing import PoolSizing
from padbox.core.protocol import SourceFile
from padbox.core.sandbox import Origin, Sandbox, SandboxBackend, SandboxError, SandboxLost

log = logging.getLogger("padbox.pool")

RETRY_AFTER_FAILURE_S = 2.0
TICK_S = 1.0  # with no event, the pool re-checks its target this often (an idle pool shrinks)


def new_session_id(node: str = "") -> str:
    """A run's id; in a cluster it starts with the node that makes it (padbox.core.cluster)."""
    return run_id_for(node, secrets.token_hex(8))


class WarmPool:
    def __init__(
        self, backend: SandboxBackend, capacity: Capacity, limits: Limits, sizing: PoolSizing, node: str = ""
    ) -> None:
        self.backend = backend
        self.node = node
        self.capacity = capacity
        self.limits = limits
        self.sizing = sizing
        self.target = 0  # the last target computed (for /metrics)
        self.hits = 0  # runs that found a ready sandbox
        self.misses = 0  # runs that waited for one, or needed limits no pooled sandbox can take
        self.handed_out = 0
        self.renewed = 0  # used sandboxes given a fresh box and handed out again
        self._ready: deque[Sandbox] = deque()
        self._waiters: deque[asyncio.Future[Sandbox]] = deque()
        self._making: set[asyncio.Task[None]] = set()
        self._renewing: set[asyncio.Task[None]] = set()  # used sandboxes getting a fresh box for another run
        self._lent: set[int] = set()  # ids of renewable sandboxes out with a run: they are expected back
        self._wake = asyncio.Event()
        self._filler: asyncio.Task[None] | None = None
        self._pause_until = 0.0  # after a failed start, no new one until then

    @property
    def ready(self) -> int:
        return len(self._ready)

    @property
    def starting(self) -> int:
        return len(self._making)

    @property
    def size(self) -> int:
        """Sandboxes the pool holds: ready, starting, and being renewed."""
        return len(self._ready) + len(self._making) + len(self._renewing)

    def start(self) -> None:
        """Begin filling in the background; start-up never waits for it."""
        if self._filler is None:
            self._filler = asyncio.get_running_loop().create_task(self._fill(), name="warm-pool")

    def fits(self, limits: Limits) -> bool:
        """A pooled sandbox can be given these limits."""
        return self.backend.can_adapt(self.limits, limits)

    async def take(self, limits: Limits) -> Sandbox | None:
        """A pooled sandbox for a run with these limits (still with the pool's limits: the caller adapts it),
        or None when none can take them (the caller makes a cold one). With none ready, waits for the next
        one the pool makes; SandboxError when that start fails."""
        if self._filler is None:  # not started (no image yet) or drained: nothing would come
            return None
        self.sizing.arrival()
        self.poke()
        if not self.fits(limits):
            self.misses += 1
            return None
        if self._ready:
            self.hits += 1
            return self._hand_out(self._ready.popleft())
        self.misses += 1
        waiter: asyncio.Future[Sandbox] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return self._hand_out(await waiter)
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._stock(waiter.result())  # given just as its run was cancelled: still unused
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _hand_out(self, sandbox: Sandbox) -> Sandbox:
        self.handed_out += 1
        if self.backend.can_renew(sandbox):
            self._lent.add(id(sandbox))
            self.sizing.expect_renewals()
        return sandbox

    def poke(self) -> None:
        """Something changed (a sandbox taken, a session ended): the filler re-checks its target."""
        self._wake.set()

    def _live_waiters(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def _stock(self, sandbox: Sandbox, first: bool = False) -> None:
        """A new (or unused, or renewed) sandbox: to the longest waiting run, else ready. `first`: handed out
        before the others (a renewed one), which leaves the newest made as the first to go when the pool shrinks."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(sandbox)
                return
        if first:
            self._ready.appendleft(sandbox)
        else:
            self._ready.append(sandbox)
        self.poke()

    async def _fill(self) -> None:
        while True:
            self._wake.clear()
            room = self.capacity.limit - self.capacity.running
            self.target = self.sizing.target(room)
            missing = starts_needed(
                self.target,
                waiting=self._live_waiters(),
                ready=len(self._ready),
                making=len(self._making),
                renewing=len(self._renewing),
                lent=len(self._lent),
            )
            can_start = self.sizing.concurrency - len(self._making)
            if time.monotonic() >= self._pause_until:
                for _ in range(min(missing, can_start)):
                    self._start_one()
            while not self._waiters and len(self._ready) > self.target:  # demand or room shrank: give it back
                self.backend.discard(self._ready.pop())
            try:
                async with asyncio.timeout(TICK_S):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _start_one(self) -> None:
        task = asyncio.get_running_loop().create_task(self._make(len(self._making) + 1))
        self._making.add(task)
        task.add_done_callback(self._made)

    def _made(self, task: asyncio.Task[None]) -> None:
        self._making.discard(task)
        self.poke()

    async def _make(self, in_flight: int) -> None:
        began = time.monotonic()
        try:
            sandbox = await self.backend.create(self.limits, new_session_id(self.node), Origin.POOL)
        except SandboxError as exc:
            log.warning("could not warm a sandbox: %s", exc)
            self._pause_until = time.monotonic() + RETRY_AFTER_FAILURE_S
            self._fail_one_waiter(exc)
            return
        self.sizing.started(time.monotonic() - began, in_flight)
        self._stock(sandbox)

    def _fail_one_waiter(self, exc: SandboxError) -> None:
        """The start a waiting run counted on failed: that run fails as a cold start would have."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)
                return

    def release(self, sandbox: Sandbox, made_with: Limits, reusable: bool) -> None:
        """A run is over with a sandbox. One whose run ended normally (`reusable`) returns to the pool when its
        backend can give it a fresh box for another run (and the pool's limits back); any other is removed.
        The renewal happens in the background: the run's client does not wait for it."""
        self._lent.discard(id(sandbox))
        self.poke()
        if not reusable or self._filler is None or not self.backend.can_renew(sandbox) or not self.fits(made_with):
            self.backend.discard(sandbox)
            return
        task = asyncio.get_running_loop().create_task(self._renew(sandbox, made_with))
        self._renewing.add(task)
        task.add_done_callback(self._renewed)

    def _renewed(self, task: asyncio.Task[None]) -> None:
        self._renewing.discard(task)
        self.poke()

    async def _renew(self, sandbox: Sandbox, made_with: Limits) -> None:
        began = time.monotonic()
        try:
            await self.backend.adapt(sandbox, made_with, self.limits)
            if await self.backend.renew(sandbox, new_session_id(self.node)):
                self.sizing.renewed(time.monotonic() - began)
                self.renewed += 1
                self._stock(sandbox, first=True)
                return
        except SandboxError as exc:
            log.warning("sandbox %s could not be renewed: %s", sandbox.run_id, exc)
        except BaseException:
            self.backend.discard(sandbox)
            raise
        self.backend.discard(sandbox)

    def flush(self) -> None:
        """A pooled sandbox was found dead: the others may be too (an engine restart stops them all), and
        each would cost a run a failed attempt. Remove every ready one; the pool refills with new ones."""
        while self._ready:
            self.backend.discard(self._ready.popleft())
        self.poke()

    async def drain(self) -> None:
        """Shutdown: stop filling and remove every pooled container; waiting runs fail."""
        if self._filler is not None:
            self._filler.cancel()
            await asyncio.gather(self._filler, return_exceptions=True)
            self._filler = None
        making = [*self._making, *self._renewing]
        for task in making:
            task.cancel()  # backend.create discards what it made after a cancellation
        await asyncio.gather(*making, return_exceptions=True)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(SandboxError("the server is shutting down"))
        while self._ready:
            self.backend.discard(self._ready.popleft())
        await self.backend.settled()


def starts_needed(target: int, waiting: int, ready: int, making: int, renewing: int, lent: int) -> int:
    """How many sandboxes to start now. Runs already waiting are served first by those on their way (being made,
    or renewed after a run); the rest of the pool aims at `target` ready ones. A renewable sandbox out with a run
    (`lent`), or on its way to a waiting run, comes back when that run ends: it stands in for the target, or in
    namespace mode every run would still cost a container made for the next one. With nothing renewable this is
    the container pool's rule: target + waiting - (ready + making)."""
    coming = making + renewing
    for_waiters = max(0, waiting - coming)
    spare_coming = max(0, coming - waiting)
    returning = min(lent + min(waiting, renewing), target)
    return for_waiters + max(0, target - ready - spare_coming - returning)


class SandboxSupply:
    """Where a run's sandbox comes from: a pooled one when one can take its limits, else a cold one."""

    def __init__(self, backend: SandboxBackend, pool: WarmPool | None) -> None:
        self.backend = backend
        self.pool = pool

    async def acquire(self, limits: Limits, run_id: str, files: Sequence[SourceFile]) -> Sandbox:
        """A sandbox with the run's limits and the files written. A pooled sandbox that fails (it died while
        it waited, say the engine restarted, or its limits could not be changed) is thrown away and a cold
        one, labelled `run_id`, takes its place; when it was lost rather than refusing, the rest of the pool
        is renewed too."""
        pool = self.pool
        pooled = await pool.take(limits) if pool else None
        if pool is not None and pooled is not None:
            try:
                await _all(self.backend.adapt(pooled, pool.limits, limits), pooled.write_files(files))
                return pooled
            except SandboxError as exc:
                log.warning("pooled sandbox %s failed (%s); using a cold one", pooled.run_id, exc)
                self.backend.discard(pooled)
                if isinstance(exc, SandboxLost):
                    pool.flush()
            except BaseException:  # the run was cancelled (its client left): the pool no longer holds it either
                self.backend.discard(pooled)
                raise
        sandbox = await self.backend.create(limits, run_id, Origin.COLD)
        try:
            await sandbox.write_files(files)
        except BaseException:
            self.backend.discard(sandbox)
            raise
        return sandbox

    def release(self, sandbox: Sandbox, limits: Limits, reusable: bool) -> None:
        """A run is over with its sandbox (made with, or adapted to, `limits`). One that ended normally may host
        another run (the pool renews it); any other is removed."""
        if self.pool is not None:
            self.pool.release(sandbox, limits, reusable)
        else:
            self.backend.discard(sandbox)

    def returned(self) -> None:
        """A run ended: the pool may refill into the room it left."""
        if self.pool:
            self.pool.poke()


async def _all(*steps: Awaitable[None]) -> None:
    """Run the steps at once (the limits change while the files are written); the first failure is raised
    once all have ended, so none is left running on a sandbox about to be discarded."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
