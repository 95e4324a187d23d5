"""Admission: a global cap on running sessions with a bounded FIFO queue in front of it.

Pure asyncio, no Docker: a session asks for a slot before any container is made; while it
waits it is told its position whenever that changes; a full queue is refused at once; a
waiter that goes away (cancelled) leaves the queue immediately.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from padbox.core.protocol import ErrorCode, ProtocolError

PositionCallback = Callable[[int], Awaitable[None]]


class Busy(ProtocolError):
    """Refused for lack of room (the queue, or a client's own caps); says when to try again."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(ErrorCode.BUSY, f"{message}; try again in {retry_after_s} s", retry_after_s)


@dataclass(eq=False)
class _Waiter:
    on_position: PositionCallback
    granted: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    told: int = 0


class Capacity:
    """At most `limit` sessions run at once; up to `queue_limit` more wait in arrival order."""

    def __init__(self, limit: int, queue_limit: int) -> None:
        self.limit = limit
        self.queue_limit = queue_limit
        self.running = 0
        self._queue: deque[_Waiter] = deque()
        self._notify_tasks: set[asyncio.Task[None]] = set()

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    @asynccontextmanager
    async def slot(self, on_position: PositionCallback) -> AsyncIterator[None]:
        await self._acquire(on_position)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, on_position: PositionCallback) -> None:
        if self.running < self.limit and not self._queue:
            self.running += 1
            return
        if len(self._queue) >= self.queue_limit:
            raise Busy(f"the server is at capacity ({self.limit} running, {len(self._queue)} waiting)", 5)
        waiter = _Waiter(on_position)
        self._queue.append(waiter)
        try:
            await self._tell(waiter, len(self._queue))
            await waiter.granted
        except BaseException:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release()  # granted just as it was cancelled: pass the slot on
            elif waiter in self._queue:
                self._queue.remove(waiter)
                self._announce_positions()
            raise

    def _release(self) -> None:
        self.running -= 1
        while self._queue and self.running < self.limit:
            waiter = self._queue.popleft()
            if waiter.granted.done():
                continue
            self.running += 1
            waiter.granted.set_result(None)
        self._announce_positions()

    def _announce_positions(self) -> None:
        for position, waiter in enumerate(self._queue, start=1):
            if waiter.told != position:
                task = asyncio.get_running_loop().create_task(self._tell(waiter, position))
                self._notify_tasks.add(task)
                task.add_done_callback(self._notify_tasks.discard)

    async def _tell(self, waiter: _Waiter, position: int) -> None:
        waiter.told = position
        try:
            await waiter.on_position(position)
        except Exception:  # noqa: BLE001 - a client that cannot be told will notice when it is cancelled
            pass
