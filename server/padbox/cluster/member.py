"""A node's membership of the cluster, kept in Redis (redis.asyncio): its record and heartbeat, the run
directory, and per-client caps held cluster-wide.

Redis holds only what every node must agree on and nothing that must survive a restart: each record expires
unless its owner renews it, so a node killed with -9 drops out of the registry within PADBOX_NODE_TTL_S and its
clients' leases within PADBOX_LEASE_TTL_S, and a Redis restarted empty is filled again by the next heartbeats.

While Redis cannot be reached, running sessions go on untouched (nothing on a run's path waits for Redis once it
started); new runs and cross-node joins are refused with `unavailable`; the heartbeat retries with back-off and
re-registers everything this node holds as soon as Redis answers again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from padbox.cluster import keys
from padbox.cluster.agent import NodeState
from padbox.core.access import RATE_WINDOW_S, ClientBusy
from padbox.core.cluster import RunLost, Unavailable
from padbox.core.events import AnyEvent, Started
from padbox.core.session import Session

log = logging.getLogger("padbox.cluster")

REDIS_TIMEOUT_S = 1.0  # one command; a Redis that takes longer counts as down, and callers get `unavailable`
BACKOFF_MAX_S = 2.0  # between reconnection attempts: a restarted Redis is back in use within this

# One atomic step per new session: drop expired leases and starts older than the window, refuse over either cap,
# else take a lease (scored by its expiry) and record the start. Redis's own clock, so nodes' clocks never matter.
# ARGV[6] '0': an unrated session (a case of a test run), no start; ARGV[7] '0': a start alone, no lease (the
# test run's own start).
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max_running, per_window = tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl, window = tonumber(ARGV[4]), tonumber(ARGV[5])
local rated, leased = ARGV[6] == '1', ARGV[7] == '1'
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if leased and redis.call('ZCARD', KEYS[1]) >= max_running then
  return {1, 1}
end
if rated and redis.call('ZCARD', KEYS[2]) >= per_window then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, math.ceil((tonumber(oldest[2]) + window - now) / 1000)}
end
if leased then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
if rated then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], window)
end
return {0, 0}
"""

# Renew this node's leases: KEYS are lease sets, ARGV[i + 2] the lease in KEYS[i]. ARGV[2] 'XX' renews only
# leases still there (one released meanwhile stays released); after Redis came back empty, '' puts them back.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if ARGV[2] == 'XX' then
    redis.call('ZADD', key, 'XX', now + ttl, ARGV[i + 2])
  else
    redis.call('ZADD', key, now + ttl, ARGV[i + 2])
  end
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS
"""


def connect(url: str) -> redis.Redis:
    """A client that fails fast: no retries inside a call (the caller answers `unavailable` and the heartbeat
    retries with back-off), short timeouts, and a pool that reconnects by itself after a Redis restart."""
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


class RedisMember:
    """This node in the cluster: Membership for the runner, ClientCaps for admission, and a SessionObserver
    that keeps the run directory."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        node_id: str,
        address: str,
        state: Callable[[], NodeState],
        max_concurrent: int,
        per_minute: int,
        heartbeat_s: float,
        node_ttl_s: float,
        lease_ttl_s: float,
    ) -> None:
        self.redis = client
        self._node_id = node_id
        self.address = address
        self.state = state
        self.max_concurrent = max_concurrent
        self.per_minute = per_minute
        self.heartbeat_s = heartbeat_s
        self.node_ttl_s = node_ttl_s
        self.lease_ttl_ms = int(lease_ttl_s * 1000)
        self.started_at = time.time()
        self.leases: dict[str, str] = {}  # lease -> client, this node's running sessions
        self.runs: set[str] = set()  # this node's runs in the directory
        self.connected = False  # the last heartbeat reached Redis
        self.heartbeats = 0
        self.events: list[dict[str, Any]] = []  # the latest cluster events heard on the channel
        self._admit = self.redis.register_script(ADMIT)
        self._renew = self.redis.register_script(RENEW)
        self._tasks: list[asyncio.Task[None]] = []
        self._writes: set[asyncio.Task[None]] = set()

    @property
    def node_id(self) -> str:
        return self._node_id

    # --- life ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._heartbeat_loop(), name="cluster-heartbeat"),
            loop.create_task(self._listen_loop(), name="cluster-events"),
        ]

    async def leave(self) -> None:
        """A clean departure: out of the registry at once (HAProxy's checks see the port closed anyway)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._writes, return_exceptions=True)
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_S * 2):
                await self.redis.delete(keys.node(self.node_id))
                await self.redis.publish(keys.EVENTS, json.dumps({"event": "left", "node": self.node_id}))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not leave the registry (its record expires by itself): %s", exc)
        await self.redis.aclose()

    async def announce(self, event: str) -> None:
        """Tell the other nodes (pub/sub) that this node is `draining`, say; best effort."""
        try:
            await self.redis.publish(keys.EVENTS, json.dumps({"event": event, "node": self.node_id}))
        except (RedisError, OSError) as exc:
            log.info("could not announce %s: %s", event, exc)

    # --- heartbeat -----------------------------------------------------------------------------------------
    def record(self) -> dict[str, str]:
        state = self.state()
        return {
            "id": self.node_id,
            "address": self.address,
            "sessions": str(state.sessions),
            "queue": str(state.queue),
            "pool": str(state.pool),
            "capacity": str(state.limit),
            "draining": "1" if state.draining else "0",
            "ready": "1" if state.prepared else "0",
            "heartbeat": f"{time.time():.3f}",
            "started": f"{self.started_at:.3f}",
        }

    async def beat(self) -> None:
        """One heartbeat: the record renewed, and this node's directory entries and leases with it. When the
        record was gone (Redis restarted empty, or this node was cut off past its expiry), everything this node
        holds is put back, not only renewed."""
        node_key = keys.node(self.node_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(node_key)
            pipe.hset(node_key, mapping=cast(Any, self.record()))
            pipe.pexpire(node_key, int(self.node_ttl_s * 1000))
            pipe.sadd(keys.NODES, self.node_id)
            was_there = (await pipe.execute())[0]
        rejoined = not was_there
        runs, leases = list(self.runs), list(self.leases.items())
        async with self.redis.pipeline(transaction=False) as pipe:
            for run_id in runs:
                if rejoined:
                    pipe.set(keys.run(run_id), self.node_id, px=self.lease_ttl_ms)
                else:
                    pipe.pexpire(keys.run(run_id), self.lease_ttl_ms)
            await pipe.execute()
        if leases:
            await self._renew(
                keys=[keys.leases(client) for _, client in leases],
                args=[self.lease_ttl_ms, "" if rejoined else "XX", *(lease for lease, _ in leases)],
            )
        if rejoined:
            await self.announce("joined")
            log.info("registered in the cluster as %s (%s)", self.node_id, self.address)

    async def _heartbeat_loop(self) -> None:
        failures = 0
        while True:
            try:
                await self.beat()
                if failures:
                    log.warning("Redis answers again after %d failed heartbeat(s)", failures)
                failures, self.connected = 0, True
                self.heartbeats += 1
                await asyncio.sleep(self.heartbeat_s)
            except (RedisError, OSError) as exc:
                if failures == 0:
                    log.error("Redis cannot be reached (%s): new runs get `unavailable` until it returns", exc)
                failures += 1
                self.connected = False
                await asyncio.sleep(backoff(failures, self.heartbeat_s))

    # --- events (pub/sub) ----------------------------------------------------------------------------------
    async def _listen_loop(self) -> None:
        """Listen to the cluster's events; after Redis goes away, subscribe again with back-off."""
        failures = 0
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(keys.EVENTS)
                failures = 0
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._heard(str(message["data"]))
            except (RedisError, OSError):
                failures += 1
                await asyncio.sleep(backoff(failures, self.heartbeat_s))
            finally:
                try:
                    # Through Any: redis-py 8.1 leaves aclose untyped and 8.2 types it, and both must pass mypy.
                    await cast(Any, pubsub).aclose()
                except (RedisError, OSError):
                    pass

    def _heard(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        event["at"] = time.time()
        self.events = [*self.events[-19:], event]

    # --- the run directory (a SessionObserver) -------------------------------------------------------------
    def event(self, session: Session, event: AnyEvent) -> None:
        if isinstance(event, Started):
            self.runs.add(session.id)
            self._write(self.redis.set(keys.run(session.id), self.node_id, px=self.lease_ttl_ms))

    def finished(self, session: Session) -> None:
        if session.id in self.runs:
            self.runs.discard(session.id)
            self._write(self.redis.delete(keys.run(session.id)))

    def _write(self, command: Any) -> None:
        """A directory write off the run's path: a run never waits for Redis, and one lost while Redis is down
        is put back (or expires) with the heartbeats."""

        async def write() -> None:
            try:
                await command
            except (RedisError, OSError) as exc:
                log.debug("run directory write failed: %s", exc)

        task = asyncio.get_running_loop().create_task(write())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    # --- Membership ----------------------------------------------------------------------------------------
    async def locate(self, node: str) -> str:
        try:
            address = await self.redis.hget(keys.node(node), "address")
        except (RedisError, OSError) as exc:
            raise Unavailable() from exc
        if not address:
            raise RunLost(node, "has left the cluster (no heartbeat)")
        return str(address)

    async def describe(self) -> dict[str, Any]:
        """GET /api/v1/cluster: every live node's record; ids whose record expired are pruned."""
        try:
            ids = sorted(str(node) for node in await self.redis.smembers(keys.NODES))
            async with self.redis.pipeline(transaction=False) as pipe:
                for node in ids:
                    pipe.hgetall(keys.node(node))
                records = await pipe.execute()
            gone = [node for node, record in zip(ids, records, strict=True) if not record]
            if gone:
                await self.redis.srem(keys.NODES, *gone)
        except (RedisError, OSError) as exc:
            raise Unavailable() from exc
        now = time.time()
        nodes = [node_entry(record, now) for record in records if record]
        return {"node": self.node_id, "nodes": nodes, "events": self.events}

    # --- ClientCaps ----------------------------------------------------------------------------------------
    @asynccontextmanager
    async def admitted(self, client: str, lease: str, rated: bool = True) -> AsyncIterator[None]:
        await self._admit_one(client, lease, rated, leased=True)
        self.leases[lease] = client
        try:
            yield
        finally:
            del self.leases[lease]
            self._write(self.redis.zrem(keys.leases(client), lease))

    async def count_start(self, client: str, start: str) -> None:
        await self._admit_one(client, start, rated=True, leased=False)

    async def _admit_one(self, client: str, member: str, rated: bool, leased: bool) -> None:
        try:
            refused, retry = await self._admit(
                keys=[keys.leases(client), keys.starts(client)],
                args=[
                    member, self.max_concurrent, self.per_minute, self.lease_ttl_ms, int(RATE_WINDOW_S * 1000),
                    int(rated), int(leased),
                ],
            )  # fmt: skip
        except (RedisError, OSError) as exc:
            raise Unavailable() from exc
        if refused == 1:
            raise ClientBusy(
                f"this client already has {self.max_concurrent} sessions running in the cluster; end one first", 1
            )
        if refused == 2:
            raise ClientBusy(f"this client started {self.per_minute} sessions in the last minute", int(retry))


def node_entry(record: dict[str, str], now: float) -> dict[str, Any]:
    """One node as /api/v1/cluster shows it."""
    heartbeat = float(record.get("heartbeat", 0))
    return {
        "id": record.get("id"),
        "address": record.get("address"),
        "sessions": int(record.get("sessions", 0)),
        "queue": int(record.get("queue", 0)),
        "pool": int(record.get("pool", 0)),
        "capacity": int(record.get("capacity", 0)),
        "draining": record.get("draining") == "1",
        "ready": record.get("ready") == "1",
        "last_heartbeat": heartbeat,
        "heartbeat_age_s": round(max(0.0, now - heartbeat), 3),
    }


def backoff(failures: int, base_s: float) -> float:
    """Exponential with jitter, capped at BACKOFF_MAX_S."""
    return float(min(BACKOFF_MAX_S, base_s * 2 ** min(failures - 1, 6)) * random.uniform(0.5, 1.0))
