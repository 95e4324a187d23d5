"""Parts of the cluster failing: Redis restarted under running sessions, a node killed with -9, every node
restarted in turn. The named order matters only for speed; each test leaves the cluster whole again."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
from contextlib import AsyncExitStack

import httpx
import redis.asyncio as redis

from padbox.client import Client, connect, run_program
from padbox.cluster import keys
from padbox_dev.local_cluster import LocalCluster
from tests.cluster.conftest import ws_front, ws_node
from tests.cluster.runs import OpenRun, finish, open_run
from tests.eventually import eventually


def node_containers(cluster: LocalCluster, node: str) -> set[str]:
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-aq",
            "--filter",
            f"label=padbox.node={node}",
            "--filter",
            f"label=padbox.instance={cluster.layout.instance(node)}",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def events_heard(cluster: LocalCluster, node: str) -> list[dict[str, object]]:
    return list(httpx.get(f"{cluster.layout.node_url(node)}/api/v1/cluster", timeout=3).json()["events"])


async def a_new_run_works(cluster: LocalCluster) -> bool:
    t = await run_program(ws_front(cluster), token="redis", language="python", source="print('back')")
    return t.verdict == "ok"


async def test_redis_restarted_during_runs_running_ones_finish_and_new_ones_work_again(cluster: LocalCluster) -> None:
    async with AsyncExitStack() as stack:
        running = [await open_run(stack, ws_front(cluster), "redis") for _ in range(2)]
        cluster.stop_redis()
        refused = await run_program(ws_front(cluster), token="redis", language="python", source="print(1)")
        assert refused.error["code"] == "unavailable", refused.frames
        assert refused.close_code == 1013
        for run in running:  # nothing on a running session's path needs Redis
            await finish(run)
        cluster.start_redis()
        took = await eventually(lambda: a_new_run_works(cluster), 10, "a new run works after Redis came back")
        print(f"new runs work again {took:.1f} s after Redis restarted")
    # Every node subscribed again: an event published now reaches each one.
    marker = f"probe-{time.monotonic_ns()}"
    client = redis.Redis.from_url(cluster.layout.redis_url, decode_responses=True)
    try:

        async def all_heard() -> bool:
            await client.publish(keys.EVENTS, json.dumps({"event": marker, "node": "test"}))
            heard = [events_heard(cluster, n) for n in cluster.layout.node_ids()]
            return all(any(e.get("event") == marker for e in events) for events in heard)

        await eventually(all_heard, 10, "every node hears cluster events again")
    finally:
        await client.aclose()
    cluster.wait_until_registered(cluster.layout.node_ids())


async def test_a_node_killed_with_9_its_clients_are_told_others_go_on_and_it_leaves_nothing(
    cluster: LocalCluster,
) -> None:
    async with AsyncExitStack() as stack:
        runs: list[OpenRun] = []
        for _ in range(3):
            runs.append(await open_run(stack, ws_front(cluster), "loss"))
        victim = runs[0].owner
        theirs = [r for r in runs if r.owner == victim]
        others = [r for r in runs if r.owner != victim]
        assert others, f"every run landed on {victim}: leastconn should have spread three held runs"
        left = node_containers(cluster, victim)
        assert left, "the victim had no containers to leave behind"

        killed_at = time.monotonic()
        cluster.stop_node(victim, signal.SIGKILL)
        for run in theirs:
            transcript = await run.client.collect(5)
            assert transcript.lost and not transcript.of("exit"), transcript.frames
            async with connect(ws_front(cluster, f"/ws/runs/{run.id}"), token="loss") as ws:
                rejoin = Client(ws)
                await rejoin.join(run.id, run.driver_key, "driver")
                told = await rejoin.collect(5)
            assert told.error["code"] == "run_lost" and victim in told.error["message"], told.frames
        told_within = time.monotonic() - killed_at
        assert told_within < 5, told_within

        for run in others:  # runs on the other nodes are unaffected
            await finish(run)
        await eventually(lambda: cluster.haproxy_states().get(victim, "").startswith("DOWN"), 10, "HAProxy: down")

    cluster.start_node(victim)
    cluster.wait_for_node(victim)
    assert not (left & node_containers(cluster, victim)), "the killed node's containers outlived its restart"
    cluster.wait_until_registered(cluster.layout.node_ids())
    await eventually(lambda: cluster.haproxy_states().get(victim, "").startswith("UP"), 15, "HAProxy: up again")


def agent_says(cluster: LocalCluster, node: str) -> str:
    """The node's answer to HAProxy's agent check."""
    with socket.create_connection(("127.0.0.1", cluster.layout.agent_port(node)), timeout=2) as sock:
        return sock.recv(100).decode().strip()


async def test_a_rolling_restart_drops_no_run_that_fits_in_the_drain_time(cluster: LocalCluster) -> None:
    slow = "import time; time.sleep(4); print('done', flush=True)"
    for node in cluster.layout.node_ids():
        async with AsyncExitStack() as stack:
            run = await open_run(stack, ws_node(cluster, node), "rolling", source=slow)
            stopping = asyncio.create_task(asyncio.to_thread(cluster.stop_node, node, signal.SIGTERM))
            await eventually(lambda n=node: agent_says(cluster, n) == "drain", 10, f"{node} draining")
            # While it drains, new runs through the front are served (elsewhere, or here before HAProxy hears).
            meanwhile = await run_program(ws_front(cluster), token="rolling", language="python", source="print(2)")
            assert meanwhile.verdict == "ok", meanwhile.frames
            transcript = await run.client.collect(30)
            assert "done" in transcript.text() and transcript.verdict == "ok", transcript.frames
            await stopping
        cluster.start_node(node)
        cluster.wait_for_node(node)
        cluster.wait_until_registered(cluster.layout.node_ids())
        await eventually(lambda n=node: cluster.haproxy_states().get(n, "").startswith("UP"), 15, f"{node} up again")
