"""What the agent has to say to the server, and when to stop reading the program.

Pure: no descriptors and no clock. The event loop tells it what the program wrote and what time it is,
asks it what to write, and asks whether to keep reading the program's output.
"""

from __future__ import annotations

from padbox_agent.wire import Kind, encode

# Output is coalesced: reads that follow each other within COALESCE_S go out as one frame of at most
# FRAME_SIZE bytes, so a program printing many short lines costs few frames, at a few ms of delay.
COALESCE_S = 0.004
FRAME_SIZE = 65536
# Bytes waiting for the server; past HIGH the agent stops reading the program, so a slow client makes the
# program block on write instead of anything buffering without bound. Below LOW it reads again.
OUTBOX_HIGH = 1 << 20
OUTBOX_LOW = 1 << 18
# At most this much is offered to one write, so no write copies the whole outbox.
WRITE_SIZE = 1 << 18


class Outbox:
    """Frames queued for the server, and program output held back for a moment to be coalesced."""

    def __init__(
        self,
        coalesce_s: float = COALESCE_S,
        frame_size: int = FRAME_SIZE,
        high: int = OUTBOX_HIGH,
        low: int = OUTBOX_LOW,
    ) -> None:
        self._coalesce_s = coalesce_s
        self._frame_size = frame_size
        self._high = high
        self._low = low
        self._queue = bytearray()
        self._held = bytearray()
        self._held_kind: Kind | None = None
        self._deadline: float | None = None
        self._reading = True

    # --- what goes in -----------------------------------------------------------------------------
    def output(self, kind: Kind, data: bytes, now: float) -> None:
        """Program output. A change of stream releases what is held first, so stdout/stderr order is kept."""
        if self._held_kind is not None and kind != self._held_kind:
            self.release()
        self._held_kind = kind
        self._held += data
        while len(self._held) >= self._frame_size:
            self._queue += encode(kind, bytes(self._held[: self._frame_size]))
            del self._held[: self._frame_size]
        if not self._held:
            self._held_kind = None
            self._deadline = None
        elif self._deadline is None:
            self._deadline = now + self._coalesce_s

    def send(self, frame: bytes) -> None:
        """A whole frame; held output goes first, so nothing the program wrote arrives after it."""
        self.release()
        self._queue += frame

    def release(self) -> None:
        """Held output becomes a frame now."""
        if self._held_kind is not None and self._held:
            self._queue += encode(self._held_kind, bytes(self._held))
        self._held.clear()
        self._held_kind = None
        self._deadline = None

    def tick(self, now: float) -> None:
        """Release held output whose moment has come."""
        if self._deadline is not None and now >= self._deadline:
            self.release()

    @property
    def deadline(self) -> float | None:
        """When held output must be released; None when nothing is held."""
        return self._deadline

    # --- what comes out ---------------------------------------------------------------------------
    def has_pending(self) -> bool:
        """Whether there are frames to write (held output is not yet a frame)."""
        return bool(self._queue)

    def pending(self) -> bytes:
        """The next bytes to write to the server (empty when there is nothing to write)."""
        return bytes(self._queue[:WRITE_SIZE])

    def written(self, count: int) -> None:
        """The first `count` bytes of pending() reached the server."""
        del self._queue[:count]

    def discard(self) -> None:
        """The server is gone: nothing will ever be written."""
        self._queue.clear()
        self._held.clear()
        self._held_kind = None
        self._deadline = None

    # --- backpressure -----------------------------------------------------------------------------
    def should_read_outputs(self) -> bool:
        """False from the moment more than HIGH bytes wait until fewer than LOW do (hysteresis, so the
        loop does not switch reading on and off for every frame)."""
        waiting = len(self._queue) + len(self._held)
        if self._reading and waiting > self._high:
            self._reading = False
        elif not self._reading and waiting < self._low:
            self._reading = True
        return self._reading

    def __len__(self) -> int:
        """Bytes waiting for the server, held output included."""
        return len(self._queue) + len(self._held)
