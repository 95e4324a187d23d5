"""Many nodes, as the core sees them: a run's owner travels in its id, and the core asks an interface (never
Redis itself) where another node's run lives.

A run id is `<node>.<random>` in cluster mode (a bare random id on a single server): any node, and HAProxy,
reads the owner off the id without asking anyone, so nothing but the routing decision crosses nodes. The
shared state behind `Membership` (the node registry, the run directory, per-client leases) lives in the
padbox.cluster adapter.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from padbox.core.protocol import ErrorCode, ProtocolError

NODE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
"""A node's id: lower-case letters, digits and dashes, so it fits an HAProxy server name, a Redis key, a Docker
label and the front of a run id (whose separator, the dot, it never contains)."""
SEPARATOR = "."


def check_node_id(node: str) -> str:
    if not NODE_ID.fullmatch(node):
        raise ValueError(f"node id {node!r} must be 1 to 32 lower-case letters, digits or dashes")
    return node


def run_id_for(node: str, random_part: str) -> str:
    """The id of a run made on `node` (no node: a single server's bare id)."""
    return f"{node}{SEPARATOR}{random_part}" if node else random_part


def owner_of(run_id: str) -> str | None:
    """The node a run id names as its owner; None for a single server's id (or one that names no valid node)."""
    node, dot, rest = run_id.partition(SEPARATOR)
    if not dot or not rest or not NODE_ID.fullmatch(node):
        return None
    return node


class Unavailable(ProtocolError):
    """The cluster's shared state cannot be reached (Redis is down): new runs and joins that need it are
    refused with a retry hint, while running sessions go on."""

    def __init__(self, message: str = "the cluster's shared state cannot be reached", retry_after_s: int = 2) -> None:
        super().__init__(ErrorCode.UNAVAILABLE, f"{message}; try again in {retry_after_s} s", retry_after_s)


class RunLost(ProtocolError):
    """The node that owned a run is gone (killed, crashed, cut off): the run ended without a verdict.
    Never a program outcome: a client tells it apart from `exit` and from the server's `internal`."""

    def __init__(self, node: str, why: str = "no longer answers") -> None:
        super().__init__(
            ErrorCode.RUN_LOST, f"the node {node!r} that ran this {why}, so the run is lost: start it again"
        )


class Membership(Protocol):
    """This node's place in a cluster (padbox.cluster implements it over Redis)."""

    @property
    def node_id(self) -> str: ...

    async def locate(self, node: str) -> str:
        """The address (`host:port`) of a live node; RunLost when it is gone, Unavailable when the shared
        state cannot be read."""
        ...

    async def describe(self) -> dict[str, Any]:
        """The live nodes (GET /api/v1/cluster); Unavailable when the shared state cannot be read."""
        ...
