"""Every Redis key and channel padbox uses, named once. Per-client keys carry a hash tag (`{...}`), so a client's
two keys share a slot and its Lua script stays atomic on a sharded Redis too."""

from __future__ import annotations

PREFIX = "padbox"
NODES = f"{PREFIX}:nodes"  # a set of node ids that ever registered; live ones also have a node key
EVENTS = f"{PREFIX}:events"  # pub/sub: node arrivals, drains and departures


def node(node_id: str) -> str:
    """A hash of one node's record, expiring unless its heartbeat renews it."""
    return f"{PREFIX}:node:{node_id}"


def run(run_id: str) -> str:
    """The run directory: a run's owner, expiring unless the owner renews it."""
    return f"{PREFIX}:run:{run_id}"


def leases(client: str) -> str:
    """A sorted set of one client's running sessions across the cluster, scored by when each lease expires."""
    return f"{PREFIX}:caps:{{{client}}}:leases"


def starts(client: str) -> str:
    """A sorted set of one client's session starts in the rate window, scored by when each started."""
    return f"{PREFIX}:caps:{{{client}}}:starts"


def pad(pad_id: str) -> str:
    """A pad's claim: the node holding its room, expiring unless that node renews it."""
    return f"{PREFIX}:pad:{pad_id}"
