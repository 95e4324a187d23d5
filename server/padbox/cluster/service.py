"""Cluster mode's parts, put together for the app's life: membership (heartbeat, events) and the agent check
start with the server and stop after its sessions are done."""

from __future__ import annotations

from padbox.cluster.agent import AgentCheck, NodeState
from padbox.cluster.member import RedisMember, connect
from padbox.cluster.pad_claims import RedisPadHomes
from padbox.config import Settings
from padbox.core.runner import Runner


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


def node_state(runner: Runner) -> NodeState:
    capacity, pool = runner.capacity, runner.pool
    return NodeState(
        prepared=runner.prepared,
        draining=runner.leaving or runner.draining,
        sessions=capacity.running,
        queue=capacity.queue_length,
        limit=capacity.limit,
        pool=pool.ready if pool else 0,
    )


def member_for(settings: Settings, state: RunnerRef) -> RedisMember:
    return RedisMember(
        connect(settings.redis_url),
        node_id=settings.node_id,
        address=settings.advertised,
        state=state.node_state,
        max_concurrent=settings.max_sessions_per_client,
        per_minute=settings.sessions_per_minute,
        heartbeat_s=settings.heartbeat_s,
        node_ttl_s=settings.node_ttl_s,
        lease_ttl_s=settings.lease_ttl_s,
    )


class RunnerRef:
    """The runner, once made: the member is made first (the runner takes it), and reads the runner's state
    only once running."""

    runner: Runner | None = None

    def node_state(self) -> NodeState:
        assert self.runner is not None, "the cluster member asked for state before the runner existed"
        return node_state(self.runner)


def pad_homes_for(settings: Settings, member: RedisMember) -> RedisPadHomes:
    """Pads' claims expire as a node's record does: a dead home's pads move once it has left the registry."""
    return RedisPadHomes(member, claim_ttl_s=settings.node_ttl_s, renew_every_s=settings.heartbeat_s)


def cluster_service(settings: Settings, member: RedisMember, homes: RedisPadHomes, ref: RunnerRef) -> ClusterService:
    agent = AgentCheck(settings.host, settings.agent_port, ref.node_state) if settings.agent_port else None
    return ClusterService(settings, member, homes, agent)
