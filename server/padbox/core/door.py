"""The node's door: what transports and pads need of it besides runs, as one small interface passed in.

Who may come in (origin and token), how large a message may be and how long the first one may take, which
node this is (the front of its run ids; where another node's run lives), whether it still takes new work, and
which languages it serves. The Runner checks its own door through the same object, so a guard cannot differ
between a run over /ws, a run over HTTP and a pad's run.

`Lifecycle` is the node's place in its life, written by the Runner (and read by the cluster's health reports);
it is made before anything that reads it, so no part waits for another to exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from padbox.core.access import AccessPolicy
from padbox.core.cluster import Membership, owner_of
from padbox.core.languages import Catalogue
from padbox.core.protocol import CloseCode, ErrorCode, JoinMessage, ProtocolError
from padbox.core.sharing import SHUTTING_DOWN


class ShuttingDown(ProtocolError):
    """New work is refused while the node drains (HTTP 503; a WebSocket closes with 1001)."""

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


class Phase(IntEnum):
    """Where the node is in its life; it only moves forward."""

    SERVING = 0
    LEAVING = 1  # shutdown is coming: the load balancer is told to send no new runs, but those that come are served
    DRAINING = 2  # no new runs; running ones go on to their end
    STOPPING = 3  # running sessions are being ended: nothing may join them


class Lifecycle:
    """The node's phase, and whether start-up finished (engine answered, image there, versions read, pool
    started)."""

    def __init__(self) -> None:
        self.phase = Phase.SERVING
        self.prepared = False

    def advance(self, phase: Phase) -> None:
        self.phase = max(self.phase, phase)

    @property
    def leaving(self) -> bool:
        return self.phase >= Phase.LEAVING

    @property
    def draining(self) -> bool:
        return self.phase >= Phase.DRAINING

    @property
    def stopping(self) -> bool:
        return self.phase >= Phase.STOPPING


class Door:
    """The questions every transport and the pads ask the node, answered in one place."""

    def __init__(
        self,
        access: AccessPolicy,
        settings: DoorSettings,
        catalogue: Catalogue,
        lifecycle: Lifecycle,
        membership: Membership | None = None,
    ) -> None:
        self._access = access
        self._settings = settings
        self._catalogue = catalogue
        self._lifecycle = lifecycle
        self._membership = membership  # None: a single server, whose run ids name no node

    @property
    def node_id(self) -> str:
        """This node's id in a cluster, the front of every run id it makes; empty on a single server."""
        return self._membership.node_id if self._membership else ""

    @property
    def max_message_bytes(self) -> int:
        return self._settings.max_message_bytes

    @property
    def first_message_timeout_s(self) -> float:
        return self._settings.first_message_timeout_s

    @property
    def draining(self) -> bool:
        """No new runs (and, on a single server, no pad opened): the node is on its way out."""
        return self._lifecycle.draining

    @property
    def stopping(self) -> bool:
        return self._lifecycle.stopping

    @property
    def catalogue(self) -> Catalogue:
        """The languages served, with the image's versions once start-up read them."""
        return self._catalogue

    def learn_versions(self, versions: Mapping[str, str]) -> None:
        self._catalogue = self._catalogue.with_versions(versions)

    def authorize(self, credentials: Credentials) -> str:
        """Origin, then token: the client's identity for per-client caps; OriginRefused or TokenRefused."""
        return self._access.authorize(credentials.query, credentials.headers, credentials.address)

    async def owner_address(self, message: JoinMessage, credentials: Credentials) -> str | None:
        """Where a join must go: None when the run is this node's (then `Runner.join`), else the owner's address,
        for the transport to relay the client's socket to (a proxy in front did not route it there itself). The
        door's checks happen here, as for any join; RunLost when the owner is gone, Unavailable when the
        cluster's state cannot be read."""
        owner = owner_of(message.run_id)
        if self._membership is None or owner is None or owner == self._membership.node_id:
            return None
        self.authorize(credentials)
        return await self._membership.locate(owner)

    async def cluster(self) -> dict[str, Any] | None:
        """The live nodes (GET /api/v1/cluster); None on a single server, Unavailable when the shared state
        cannot be read."""
        return None if self._membership is None else await self._membership.describe()
