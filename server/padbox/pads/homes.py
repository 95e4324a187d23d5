"""Where a pad's room lives. One room per pad in the whole cluster, so every participant edits the same document:
the node that holds the room is the pad's home, and any other node that receives one of the pad's sockets or
calls relays it there rather than opening a second room.

Pads ask this interface, never Redis itself: a single server is every pad's home (`OneServer`); a cluster
keeps a claim per pad in Redis (padbox.cluster.pad_claims). HAProxy's consistent hash sends a pad's traffic to
one node already, so the claim is what makes it hold when a client reaches another node directly, while a node
drains, and when a home dies and its pads move.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from padbox.core.door import ShuttingDown

MOVED = "this pad moved to another server: reconnecting"


class Elsewhere(Exception):
    """The pad's room is on another node: relay the socket or the call to `address` (`host:port`)."""

    def __init__(self, node: str, address: str) -> None:
        super().__init__(f"pad home is {node} at {address}")
        self.node = node
        self.address = address


LostHandler = Callable[[str], None]


class PadHomes(Protocol):
    """Claims on pads' rooms, one holder per pad."""

    @property
    def shared(self) -> bool:
        """True when another node can be a pad's home (a cluster); a single server is every pad's home."""
        ...

    async def claim(self, pad_id: str, may_take: bool) -> None:
        """Make this node the pad's home, or say where it is: returns when this node holds the pad (then it
        keeps it until `release`), raises Elsewhere with the holder's address, Unavailable when the shared state
        cannot be read, ShuttingDown when the pad has nowhere to go. `may_take` False (this node is leaving):
        never take a free pad, send it to a node that stays."""
        ...

    async def release(self, pad_ids: Iterable[str]) -> None:
        """This node no longer holds these pads' rooms: another node may take them at once."""
        ...

    def on_lost(self, handler: LostHandler) -> None:
        """`handler(pad_id)` when this node finds it no longer holds a pad it claimed (its claim expired while it
        was cut off from the shared state, and another node took the pad): it must close that room."""
        ...


class OneServer:
    """A single server: every pad's home, unless it is shutting down (then a pad has nowhere to go)."""

    shared = False

    async def claim(self, pad_id: str, may_take: bool) -> None:
        if not may_take:
            raise ShuttingDown()

    async def release(self, pad_ids: Iterable[str]) -> None:
        pass

    def on_lost(self, handler: LostHandler) -> None:
        pass
