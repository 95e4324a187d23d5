"""Pads' homes in a cluster (padbox.pads.homes.PadHomes over Redis): a claim key per pad, `padbox:pad:<id>` =
the node holding its room, expiring unless that node renews it with its heartbeat.

- A node opening a pad's room takes the claim when it is free, or when its holder has left the registry (killed
  with -9: its record expired): a dead home's pads move to whichever node HAProxy sends their clients to next,
  which loads them from PostgreSQL.
- A live holder keeps the pad: any other node relays the pad's sockets and calls to it.
- A leaving node (SIGTERM) releases its claims and takes none: pads it still receives go to a node that stays.
- A node that finds, on renewing, that another node holds one of its pads (its own claim expired while it was
  cut off from Redis) is told, and closes that room: its clients reconnect and reach the new home.

Two rooms can thus exist for a moment (a takeover racing the old home's last edits); PostgreSQL's primary key
on (pad_id, seq) refuses the second writer of a sequence number, so stored history never forks (pads/rooms.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from redis.exceptions import RedisError

from padbox.cluster import keys
from padbox.cluster.member import RedisMember, backoff
from padbox.core.cluster import RunLost, Unavailable
from padbox.core.runner import ShuttingDown
from padbox.pads.homes import Elsewhere, LostHandler

log = logging.getLogger("padbox.cluster.pads")

# KEYS[1]: the pad's claim. ARGV: this node, the claim's expiry (ms), '1' if it may take a free pad, the prefix of
# node records. Answers the holder after the call: this node, another live node, or '' (free, not taken).
# The holder's record is read by a key built here (not passed in KEYS): fine on one Redis, not on a sharded one.
CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  if ARGV[3] == '1' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return holder
  end
  redis.call('DEL', KEYS[1])
  return ''
end
if holder and redis.call('EXISTS', ARGV[4] .. holder) == 1 then
  return holder
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return ''
"""

# KEYS: the claims this node holds; ARGV: this node, the expiry (ms). Renews each one still this node's, takes back
# one that is gone (Redis restarted empty, or it expired while this node was cut off and nobody took it), and
# answers the indexes of those another node holds now.
RENEW = """
local lost = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] or not holder then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  else
    table.insert(lost, i)
  end
end
return lost
"""

# KEYS: claims to give up; ARGV[1]: this node. Only its own: one another node took meanwhile stays theirs.
RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
  end
end
return #KEYS
"""


class RedisPadHomes:
    """This node's claims on pads, kept with its heartbeat."""

    shared = True

    def __init__(self, member: RedisMember, claim_ttl_s: float, renew_every_s: float) -> None:
        self.member = member
        self.claim_ttl_ms = int(claim_ttl_s * 1000)
        self.renew_every_s = renew_every_s
        self.held: set[str] = set()
        self._lost: list[LostHandler] = []
        self._claim = member.redis.register_script(CLAIM)
        self._renew = member.redis.register_script(RENEW)
        self._release = member.redis.register_script(RELEASE)
        self._task: asyncio.Task[None] | None = None

    @property
    def node_id(self) -> str:
        return self.member.node_id

    def on_lost(self, handler: LostHandler) -> None:
        self._lost.append(handler)

    # --- PadHomes ------------------------------------------------------------------------------------------
    async def claim(self, pad_id: str, may_take: bool) -> None:
        try:
            holder = str(
                await self._claim(
                    keys=[keys.pad(pad_id)],
                    args=[self.node_id, self.claim_ttl_ms, "1" if may_take else "0", keys.node("")],
                )
            )
            if holder == self.node_id:
                self.held.add(pad_id)
                return
            self.held.discard(pad_id)
            if not holder:  # free, and this node is leaving: the pad goes to a node that stays
                holder = successor(pad_id, await self._staying())
        except (RedisError, OSError) as exc:
            raise Unavailable() from exc
        try:
            address = await self.member.locate(holder)
        except RunLost:  # its record expired between the two reads: the next attempt takes the pad over
            raise Unavailable("the pad's server just left", 1) from None
        raise Elsewhere(holder, address)

    async def release(self, pad_ids: Iterable[str]) -> None:
        ids = [pad_id for pad_id in pad_ids if pad_id in self.held]
        self.held.difference_update(ids)
        if not ids:
            return
        try:
            await self._release(keys=[keys.pad(pad_id) for pad_id in ids], args=[self.node_id])
        except (RedisError, OSError) as exc:  # the claims expire by themselves within the claim time
            log.info("could not release %d pad claim(s): %s", len(ids), exc)

    async def _staying(self) -> list[str]:
        """Live nodes other than this one that take new work (not draining)."""
        nodes: list[dict[str, Any]] = (await self.member.describe())["nodes"]
        staying = [str(n["id"]) for n in nodes if n["id"] != self.node_id and not n["draining"] and n["ready"]]
        if not staying:
            raise ShuttingDown("this server is shutting down and no other server can take the pad now")
        return staying

    # --- renewal -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._renew_loop(), name="pad-claims")

    async def stop(self) -> None:
        """Give every claim up (a clean departure) and stop renewing."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.release(list(self.held))

    async def renew(self) -> list[str]:
        """Renew every claim this node holds; the pads another node holds now are dropped and returned."""
        ids = list(self.held)
        if not ids:
            return []
        indexes = await self._renew(keys=[keys.pad(pad_id) for pad_id in ids], args=[self.node_id, self.claim_ttl_ms])
        lost = [ids[int(i) - 1] for i in indexes]
        self.held.difference_update(lost)
        return lost

    async def _renew_loop(self) -> None:
        failures = 0
        while True:
            try:
                lost = await self.renew()
                failures = 0
            except (RedisError, OSError) as exc:
                failures += 1
                if failures == 1:
                    log.warning("cannot renew pad claims (%s): open pads go on, new ones wait for Redis", exc)
                await asyncio.sleep(backoff(failures, self.renew_every_s))
                continue
            for pad_id in lost:
                log.warning("pad %s: another node holds it now; closing its room here", pad_id)
                for handler in self._lost:
                    handler(pad_id)
            await asyncio.sleep(self.renew_every_s)


def successor(pad_id: str, nodes: list[str]) -> str:
    """The node a leaving node hands a free pad to: rendezvous hashing, so every leaving node picks the same one
    for a pad and pads spread evenly over the nodes that stay."""
    return max(nodes, key=lambda node: hashlib.sha256(f"{node}\n{pad_id}".encode()).digest())
