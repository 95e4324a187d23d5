"""Cluster mode's parts, put together for the node's life: membership (heartbeat, events), the pads' claims
and the agent check start last with the node (padbox/node.py) and stop after its sessions are done.

What they report of the node (its phase, its capacity, its warm pool) they read from parts made before them,
so the member exists before the Runner that takes it, with nothing to fill in afterwards.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from padbox.cluster.agent import AgentCheck, NodeState
from padbox.cluster.member import RedisMember, connect
from padbox.cluster.pad_claims import RedisPadHomes
from padbox.config import Settings
from padbox.core.capacity import Capacity
from padbox.core.door import Lifecycle
from padbox.core.pool import WarmPool

StateReport = Callable[[], NodeState]


class ClusterService:
    def __init__(
        self, settings: Settings, member: RedisMember, pad_homes: RedisPadHomes, agent: AgentCheck | None
    ) -> None:
        self.settings = settings
        self.member = member
        self.pad_homes = pad_homes
        self.agent = agent

    async def start(self) -> None:
        self.member.start()
        self.pad_homes.start()
        if self.agent is not None:
            await self.agent.start()

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        await self.pad_homes.stop()
        await self.member.leave()


def state_report(lifecycle: Lifecycle, capacity: Capacity, pool: WarmPool | None) -> StateReport:
    """What the node tells the registry and the agent check about itself, read when asked."""

    def report() -> NodeState:
        return NodeState(
            prepared=lifecycle.prepared,
            draining=lifecycle.leaving,
            sessions=capacity.running,
            queue=capacity.queue_length,
            limit=capacity.limit,
            pool=pool.ready if pool else 0,
        )

    return report


def member_for(settings: Settings, state: StateReport) -> RedisMember:
    return RedisMember(
        connect(settings.redis_url),
        node_id=settings.node_id,
        address=settings.advertised,
        state=state,
        max_concurrent=settings.max_sessions_per_client,
        per_minute=settings.sessions_per_minute,
        heartbeat_s=settings.heartbeat_s,
        node_ttl_s=settings.node_ttl_s,
        lease_ttl_s=settings.lease_ttl_s,
    )


def pad_homes_for(settings: Settings, member: RedisMember) -> RedisPadHomes:
    """Pads' claims expire as a node's record does: a dead home's pads move once it has left the registry."""
    return RedisPadHomes(member, claim_ttl_s=settings.node_ttl_s, renew_every_s=settings.heartbeat_s)


def cluster_service(
    settings: Settings, member: RedisMember, homes: RedisPadHomes, state: StateReport
) -> ClusterService:
    # An inherited socket is served as it is: it was bound (and held) by whoever started this process.
    inherited = None if settings.agent_fd is None else socket.socket(fileno=settings.agent_fd)
    agent = AgentCheck(settings.host, settings.agent_port, state, inherited) if settings.agent_port else None
    return ClusterService(settings, member, homes, agent)
