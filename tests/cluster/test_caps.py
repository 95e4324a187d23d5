"""Per-client caps hold across the whole cluster: the nodes share one count in Redis, taken atomically."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as redis

from padbox.client import Client, connect
from padbox.cluster.agent import NodeState
from padbox.cluster.member import RedisMember
from padbox.core.access import ClientBusy
from padbox_dev.local_cluster import LocalCluster
from tests.cluster.conftest import PER_CLIENT, ws_front
from tests.cluster.runs import WAITS_FOR_A_LINE, OpenRun, finish


async def attempt(stack: AsyncExitStack, url: str) -> OpenRun | str:
    ws = await stack.enter_async_context(connect(url, token="caps"))
    client = Client(ws)
    await client.run(language="python", source=WAITS_FOR_A_LINE)
    frame = await client.until(lambda f: f.type in ("started", "error"), timeout=60)
    return OpenRun(client, frame.message) if frame.type == "started" else str(frame.message["code"])


async def test_caps_hold_cluster_wide_under_concurrent_starts(cluster: LocalCluster) -> None:
    async with AsyncExitStack() as stack:
        outcomes = await asyncio.gather(*(attempt(stack, ws_front(cluster)) for _ in range(4 * PER_CLIENT)))
        started = [o for o in outcomes if isinstance(o, OpenRun)]
        refused = [o for o in outcomes if isinstance(o, str)]
        assert len(started) == PER_CLIENT, (len(started), refused)
        assert set(refused) == {"busy"}
        # The attempts went to every node (leastconn over 12 sockets at once), and the count held across them.
        for run in started:
            await finish(run)
        again = await attempt(stack, ws_front(cluster))  # ended sessions gave their leases back
        assert isinstance(again, OpenRun), again
        await finish(again)


def member(client: redis.Redis, node: str, per_minute: int = 1000) -> RedisMember:
    idle = NodeState(prepared=True, draining=False, sessions=0, queue=0, limit=4, pool=0)
    return RedisMember(
        client,
        node_id=node,
        address="127.0.0.1:1",
        state=lambda: idle,
        max_concurrent=2,
        per_minute=per_minute,
        heartbeat_s=0.5,
        node_ttl_s=1.5,
        lease_ttl_s=2,
    )


async def test_a_dead_nodes_leases_expire_and_a_live_nodes_are_renewed(cluster: LocalCluster) -> None:
    client_id = f"test:{time.monotonic_ns()}"
    dead = member(redis.Redis.from_url(cluster.layout.redis_url, decode_responses=True), "dead")
    live = member(redis.Redis.from_url(cluster.layout.redis_url, decode_responses=True), "live")
    live.start()
    try:
        async with live.admitted(client_id, "live-1"):
            held = dead.admitted(client_id, "dead-1")
            await held.__aenter__()  # a session on a node that then dies: never released, never renewed
            try:
                async with live.admitted(client_id, "live-2"):
                    raise AssertionError("a third session was admitted over a cap of two")
            except ClientBusy:
                pass
            await asyncio.sleep(3)  # past the lease time: the dead node's lease is gone, the live one renewed
            async with live.admitted(client_id, "live-3"):
                pass
            try:
                async with dead.admitted(client_id, "dead-2"), live.admitted(client_id, "live-4"):
                    raise AssertionError("the live node's renewed lease was lost")
            except ClientBusy:
                pass
            await held.__aexit__(None, None, None)  # the generator ends here, not in the garbage collector
    finally:
        await live.leave()
        await asyncio.gather(*dead._writes)
        await dead.redis.aclose()


async def test_a_test_run_is_one_start_cluster_wide_and_its_cases_hold_leases_but_no_start(
    cluster: LocalCluster,
) -> None:
    client_id = f"test:{time.monotonic_ns()}"
    nodes = [member(redis.Redis.from_url(cluster.layout.redis_url, decode_responses=True), n, 2) for n in "ab"]
    a, b = nodes
    try:
        await a.count_start(client_id, "tests-1")  # a test run's one start ...
        for case in range(5):  # ... and its cases, over a rate of 2, on either node
            async with (a if case % 2 else b).admitted(client_id, f"case-{case}", rated=False):
                pass
        async with a.admitted(client_id, "case-5", rated=False), b.admitted(client_id, "case-6", rated=False):
            with pytest.raises(ClientBusy, match="2 sessions running"):  # the running cap holds for cases
                async with a.admitted(client_id, "case-7", rated=False):
                    pass
        await b.count_start(client_id, "tests-2")
        with pytest.raises(ClientBusy, match="started 2 sessions") as refused:
            await a.count_start(client_id, "tests-3")
        assert 0 < refused.value.retry_after_s <= 60
        with pytest.raises(ClientBusy, match="started 2 sessions"):
            async with b.admitted(client_id, "an ordinary run"):  # the same count as ordinary runs
                pass
    finally:
        for node in nodes:
            await asyncio.gather(*node._writes)
            await node.redis.aclose()
