"""The warm pool: sandboxes created and started ahead of time, so no container is made on a
run's critical path. Each pooled sandbox is handed to exactly one session and then destroyed.

Pooled sandboxes are made by the same code, with the same hardened settings, as cold ones
(SandboxBackend.create with the default limits). A run whose limits differ in memory or pids
(the two that Docker fixes at creation) gets a cold sandbox instead. The pool counts against
capacity: it only fills while running sessions leave room under PADBOX_MAX_SESSIONS.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Sequence

from padbox.core.capacity import Capacity
from padbox.core.cluster import run_id_for
from padbox.core.limits import Limits
from padbox.core.protocol import SourceFile
from padbox.core.sandbox import Origin, Sandbox, SandboxBackend, SandboxError, SandboxLost

log = logging.getLogger("padbox.pool")

RETRY_AFTER_FAILURE_S = 2.0
FILL_CONCURRENCY = 2


def new_session_id(node: str = "") -> str:
    """A run's id; in a cluster it starts with the node that makes it (padbox.core.cluster)."""
    return run_id_for(node, secrets.token_hex(8))


class WarmPool:
    def __init__(self, backend: SandboxBackend, capacity: Capacity, limits: Limits, size: int, node: str = "") -> None:
        self.backend = backend
        self.node = node
        self.capacity = capacity
        self.limits = limits
        self.size = size
        self._ready: deque[Sandbox] = deque()
        self._starting = 0
        self._wake = asyncio.Event()
        self._filler: asyncio.Task[None] | None = None
        self.handed_out = 0

    @property
    def ready(self) -> int:
        return len(self._ready)

    def start(self) -> None:
        """Begin filling in the background; start-up never waits for it."""
        if self.size > 0 and self._filler is None:
            self._filler = asyncio.get_running_loop().create_task(self._fill(), name="warm-pool")

    def fits(self, limits: Limits) -> bool:
        return (limits.memory_mb, limits.pids) == (self.limits.memory_mb, self.limits.pids)

    def take(self, limits: Limits) -> Sandbox | None:
        """A ready sandbox for a run with these limits, or None (the caller makes a cold one)."""
        if not self.fits(limits) or not self._ready:
            self.poke()
            return None
        sandbox = self._ready.popleft()
        self.handed_out += 1
        self.poke()
        return sandbox

    def poke(self) -> None:
        """Something changed (a sandbox taken, a session ended): the filler re-checks its target."""
        self._wake.set()

    def _target(self) -> int:
        room = self.capacity.limit - self.capacity.running
        return max(0, min(self.size, room))

    async def _fill(self) -> None:
        while True:
            self._wake.clear()
            missing = self._target() - len(self._ready)
            if missing > 0:
                # A few at a time: a burst of runs empties the pool faster than one-by-one refills it.
                batch = min(missing, FILL_CONCURRENCY)
                made = await asyncio.gather(
                    *(self.backend.create(self.limits, new_session_id(self.node), Origin.POOL) for _ in range(batch)),
                    return_exceptions=True,
                )
                failures = [m for m in made if isinstance(m, BaseException)]
                self._ready.extend(m for m in made if not isinstance(m, BaseException))
                if failures:
                    log.warning("could not warm %d sandbox(es): %s", len(failures), failures[0])
                    await asyncio.sleep(RETRY_AFTER_FAILURE_S)
                continue
            while len(self._ready) > self._target():  # capacity shrank: give the room back
                self.backend.discard(self._ready.pop())
            await self._wake.wait()

    def flush(self) -> None:
        """A pooled sandbox was found dead: the others may be too (an engine restart stops them all), and
        each would cost a run a failed attempt. Remove every ready one; the pool refills with new ones."""
        while self._ready:
            self.backend.discard(self._ready.popleft())
        self.poke()

    async def drain(self) -> None:
        """Shutdown: stop filling and remove every pooled container."""
        if self._filler is not None:
            self._filler.cancel()
            await asyncio.gather(self._filler, return_exceptions=True)
            self._filler = None
        while self._ready:
            self.backend.discard(self._ready.popleft())
        await self.backend.settled()


class SandboxSupply:
    """Where a run's sandbox comes from: a pooled one when one fits (no sandbox made now), else a cold one."""

    def __init__(self, backend: SandboxBackend, pool: WarmPool | None) -> None:
        self.backend = backend
        self.pool = pool

    async def acquire(self, limits: Limits, run_id: str, files: Sequence[SourceFile]) -> Sandbox:
        """A sandbox with the files written. A pooled sandbox that fails (it died while it waited, say the
        engine restarted) is thrown away and a cold one, labelled `run_id`, takes its place; when it was
        lost rather than refusing the files, the rest of the pool is renewed too."""
        pooled = self.pool.take(limits) if self.pool else None
        if pooled is not None:
            try:
                await pooled.write_files(files)
                return pooled
            except SandboxError as exc:
                log.warning("pooled sandbox %s failed (%s); using a cold one", pooled.run_id, exc)
                self.backend.discard(pooled)
                if isinstance(exc, SandboxLost) and self.pool:
                    self.pool.flush()
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

    def returned(self) -> None:
        """A run ended: the pool may refill into the room it left."""
        if self.pool:
            self.pool.poke()
