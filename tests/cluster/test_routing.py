"""New runs spread over the nodes; a join reaches its run's owner whichever way it comes in."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx

from padbox.client import Client, connect, run_program
from padbox_dev.local_cluster import LocalCluster
from tests.cluster.conftest import ws_front, ws_node
from tests.cluster.runs import OpenRun, finish, open_run


async def test_twenty_runs_through_the_front_land_on_at_least_two_nodes(cluster: LocalCluster) -> None:
    owners = []
    for _ in range(20):
        t = await run_program(ws_front(cluster), token="spread", language="python", source="print(6 * 7)")
        assert t.verdict == "ok" and "42" in t.text(), t.frames
        assert t.run_id is not None
        owners.append(t.run_id.split(".")[0])
    assert set(owners) <= set(cluster.layout.node_ids())
    assert len(set(owners)) >= 2, owners


async def join_and_type(url: str, run: OpenRun, line: str) -> None:
    async with connect(url, token="joins") as ws:
        joiner = Client(ws)
        await joiner.join(run.id, run.driver_key, "driver")
        snapshot = await joiner.until(lambda f: f.type in ("snapshot", "error"))
        assert snapshot.type == "snapshot" and snapshot.message["id"] == run.id, snapshot.message
        await joiner.stdin(line + "\n")
        await run.client.until_output(f"got {line}")
        transcript = await joiner.collect(30)
        assert f"got {line}" in transcript.text() and transcript.verdict == "ok"


async def test_a_driver_joins_through_the_front_a_run_owned_by_each_node(cluster: LocalCluster) -> None:
    async with AsyncExitStack() as stack:
        by_owner: dict[str, OpenRun] = {}
        for _ in range(12):  # leastconn spreads held runs: a few are enough for one on each node
            run = await open_run(stack, ws_front(cluster), "joins")
            by_owner.setdefault(run.owner, run)
            if len(by_owner) == cluster.layout.nodes:
                break
        assert sorted(by_owner) == cluster.layout.node_ids(), sorted(by_owner)
        for owner, run in by_owner.items():
            await join_and_type(ws_front(cluster, f"/ws/runs/{run.id}"), run, f"front-{owner}")


async def test_a_join_by_query_or_at_another_node_reaches_the_owner(cluster: LocalCluster) -> None:
    async with AsyncExitStack() as stack:
        first = await open_run(stack, ws_front(cluster), "joins")
        await join_and_type(ws_front(cluster, f"/ws?run={first.id}"), first, "by-query")
        second = await open_run(stack, ws_front(cluster), "joins")
        elsewhere = next(n for n in cluster.layout.node_ids() if n != second.owner)
        await join_and_type(ws_node(cluster, elsewhere), second, "relayed")  # this node relays to the owner


async def test_a_run_path_takes_only_a_join_of_that_run(cluster: LocalCluster) -> None:
    async with AsyncExitStack() as stack:
        run = await open_run(stack, ws_front(cluster), "joins")
        async with connect(ws_front(cluster, f"/ws/runs/{run.id}"), token="joins") as ws:
            intruder = Client(ws)
            await intruder.run(language="python", source="print(1)")
            transcript = await intruder.collect(10)
        assert transcript.error["code"] == "bad_request", transcript.frames
        await finish(run)


def test_the_cluster_lists_every_live_node_with_its_load(cluster: LocalCluster) -> None:
    listed = httpx.get(f"{cluster.layout.front_url}/api/v1/cluster", timeout=5).raise_for_status().json()
    nodes = {n["id"]: n for n in listed["nodes"]}
    assert sorted(nodes) == cluster.layout.node_ids()
    for node_id, node in nodes.items():
        assert node["address"] == f"127.0.0.1:{cluster.layout.node_port(node_id)}"
        assert node["heartbeat_age_s"] < 3 and node["ready"] and not node["draining"]
        assert {"sessions", "queue", "pool", "capacity", "last_heartbeat"} <= set(node)
