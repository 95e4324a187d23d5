"""One socket's messages, in order and bounded in bytes, then how the socket is to be closed: the queue between
whoever produces messages (a run's fan-out, a pad's room) and the one sender that writes them to the socket.

Runs queue `sharing.Frame`s, pads queue Yjs and JSON messages; both are measured by `len` (a frame's text), so
one participant too far behind is found the same way everywhere, and its producer decides what then happens
(a run drops it with 1013, a pad closes it so that it resyncs).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sized
from typing import Generic, TypeVar

T = TypeVar("T", bound=Sized)


class Outbox(Generic[T]):
    """Messages waiting for one socket, at most `limit` in total length (a lone message may pass it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.messages: deque[T] = deque()
        self.size = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self._readable = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    def _append(self, message: T) -> None:
        self.messages.append(message)
        self.size += len(message)
        self._readable.set()
        if self.size >= self.limit:
            self._room.clear()

    def offer(self, message: T) -> bool:
        """Queue without waiting; False when it would pass the limit (the reader is too far behind). After
        `close` a message is dropped and True returned: the socket is going anyway."""
        if self.close_code is not None:
            return True
        if self.messages and self.size + len(message) > self.limit:
            return False
        self._append(message)
        return True

    async def put(self, message: T) -> None:
        """Queue, waiting for room: backpressure for a run's only participant."""
        while self.size >= self.limit and self.close_code is None:
            await self._room.wait()
        if self.close_code is None:
            self._append(message)

    async def take(self) -> T | None:
        """The next message, or None once closed and drained."""
        while not self.messages:
            if self.close_code is not None:
                return None
            self._readable.clear()
            await self._readable.wait()
        message = self.messages.popleft()
        self.size -= len(message)
        if self.size < self.limit:
            self._room.set()
        return message

    def close(self, code: int, reason: str = "") -> None:
        """No more messages after those queued; the sender then closes the socket with `code` and `reason`
        (the first close decides)."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._readable.set()
        self._room.set()

    def abort(self, code: int, reason: str = "") -> None:
        """Drop what is queued (a reader too far behind) and close at once."""
        self.messages.clear()
        self.size = 0
        self.close(code, reason)
