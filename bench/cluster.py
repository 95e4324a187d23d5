"""Section: the local cluster (padbox_dev.local_cluster: Redis, PostgreSQL, HAProxy, three nodes on this machine).

- Runs per second through HAProxy with 1, 2 and 3 nodes in rotation (the others put in maintenance through
  HAProxy's admin socket), each node's share of the CPU beside it. All nodes share this machine's cores and its
  one Docker engine, so more nodes cannot add CPU: the figure shows what routing costs, not what scaling gains.
- Join latency (join sent to snapshot received): at the owner directly, through the front (/ws/runs/<id>,
  HAProxy's use-server), and relayed by another node.
- From `kill -9` of a node to its clients' sockets dropping, to a rejoin answering `run_lost`, and to HAProxy
  marking the node DOWN.
- Edit propagation between two Yjs peers of one pad: both through the front (HAProxy sends both to the pad's
  home), and one straight to another node, which relays its socket to the home.
- From `kill -9` of a pad's home to a fresh peer through the front reading back every acknowledged edit (the pad
  taken over by another node, loaded from PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import websockets

from padbox.client import Client, connect
from padbox.core.cluster import owner_of
from padbox_dev.local_cluster import Layout, LocalCluster
from padbox_dev.pad_client import YClient, append

from .cpu import MACHINE, CpuMeter
from .docker_engine import Engine
from .padbox_process import ServerConfig
from .pads import FILE, ROUND_PAUSE_S, arrival, create_pad_at
from .plan import Plan
from .stats import Latency

WAIT = "print('got', input(), flush=True)"


def admin(cluster: LocalCluster, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(cluster.layout.stats_socket)
        sock.sendall(command.encode() + b"\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode()


def in_rotation(cluster: LocalCluster, count: int) -> None:
    """The first `count` nodes take new runs; the others are in maintenance. Their agent checks are paused too:
    an agent's `ready` would take a node out of maintenance again."""
    for i, node in enumerate(cluster.layout.node_ids()):
        verb = "enable" if i < count else "disable"
        for thing in ("agent", "server"):
            answer = admin(cluster, f"{verb} {thing} nodes/{node}").strip()
            if answer:
                raise RuntimeError(f"HAProxy refused `{verb} {thing} nodes/{node}`: {answer}")


async def one_run(front: str) -> str | None:
    async with connect(front) as ws:
        client = Client(ws)
        await client.run(language="python", source="print(1)")
        t = await client.collect(60)
    return t.run_id if t.verdict == "ok" else None


async def rate(cluster: LocalCluster, nodes: int, plan: Plan) -> dict[str, Any]:
    in_rotation(cluster, nodes)
    await asyncio.sleep(2.5)  # HAProxy's view settles
    front = f"ws://127.0.0.1:{cluster.layout.front_port}/ws"
    meter = CpuMeter({n: cluster.layout.pids[n] for n in cluster.layout.node_ids()})
    concurrency = 4
    done: list[str] = []
    failed = 0
    warm_until = time.perf_counter() + plan.rate_warmup_s
    stop_at = warm_until + plan.rate_window_s
    before: dict[str, float] = {}

    async def worker() -> None:
        nonlocal failed
        while time.perf_counter() < stop_at:
            run_id = await one_run(front)
            if time.perf_counter() < warm_until or time.perf_counter() > stop_at:
                continue
            if run_id is None:
                failed += 1
            else:
                done.append(run_id)

    after: dict[str, float] = {}

    async def window() -> None:
        await asyncio.sleep(plan.rate_warmup_s)
        before.update(meter.snapshot())
        await asyncio.sleep(plan.rate_window_s)
        after.update(meter.snapshot())

    await asyncio.gather(window(), *(worker() for _ in range(concurrency)))
    spent = CpuMeter.spent(before, after)
    cores = os.cpu_count() or 1
    by_node = {n: sum(1 for r in done if owner_of(r) == n) for n in cluster.layout.node_ids()}
    return {
        "nodes": nodes,
        "concurrency": concurrency,
        "runs_per_s": round(len(done) / plan.rate_window_s, 2),
        "failed": failed,
        "runs_by_node": by_node,
        # Each node process's CPU as a share of the whole machine (all cores) over the window.
        "cpu_share": {n: round(spent.get(n, 0) / (plan.rate_window_s * cores), 3) for n in cluster.layout.node_ids()},
        "machine_busy": round(spent.get(MACHINE, 0) / (plan.rate_window_s * cores), 3),
    }


async def join_latency(cluster: LocalCluster, samples: int) -> dict[str, Any]:
    results: dict[str, list[float]] = {"owner_direct": [], "front": [], "relayed": []}
    async with AsyncExitStack() as stack:
        ws = await stack.enter_async_context(connect(f"ws://127.0.0.1:{cluster.layout.front_port}/ws"))
        starter = Client(ws)
        await starter.run(language="python", source=WAIT)
        started = (await starter.until(lambda f: f.type == "started")).message
        run_id, key = started["id"], started["driver_key"]
        owner = owner_of(run_id) or ""
        other = next(n for n in cluster.layout.node_ids() if n != owner)
        urls = {
            "owner_direct": f"ws://127.0.0.1:{cluster.layout.node_port(owner)}/ws",
            "front": f"ws://127.0.0.1:{cluster.layout.front_port}/ws/runs/{run_id}",
            "relayed": f"ws://127.0.0.1:{cluster.layout.node_port(other)}/ws",
        }
        for _ in range(samples):
            for kind, url in urls.items():
                began = time.perf_counter()  # connection included: a joiner's wait starts at its click
                async with connect(url) as joined:
                    joiner = Client(joined)
                    await joiner.join(run_id, key, "viewer")
                    await joiner.until(lambda f: f.type == "snapshot")
                    results[kind].append(time.perf_counter() - began)
        await starter.stdin("bye\n")
        await starter.collect(30)
    return {kind: Latency.of(values).as_dict() for kind, values in results.items()}


async def pad_peer(stack: AsyncExitStack, base: str, pad: dict[str, Any], name: str) -> YClient:
    peer = await stack.enter_async_context(await YClient.connect(base, pad["id"], pad["keys"]["edit"], name))
    await peer.wait_for(peer.synced.is_set, 30)
    return peer


async def edit_propagation(cluster: LocalCluster, rounds: int) -> dict[str, Any]:
    """One peer edits; the time until a peer through the front, and one relayed by another node, have it."""
    front = f"ws://127.0.0.1:{cluster.layout.front_port}"
    pad = await asyncio.to_thread(create_pad_at, cluster.layout.front_url)
    samples: dict[str, list[float]] = {"front": [], "relayed": []}
    async with AsyncExitStack() as stack:
        editor = await pad_peer(stack, front, pad, "editor")
        home = await asyncio.to_thread(cluster.pad_home, pad["id"])
        other = next(n for n in cluster.layout.node_ids() if n != home)
        peers = {
            "front": await pad_peer(stack, front, pad, "front"),
            "relayed": await pad_peer(stack, f"ws://127.0.0.1:{cluster.layout.node_port(other)}", pad, "relayed"),
        }
        for round_no in range(rounds):
            marker = f"<{round_no}>"
            sent_at = time.perf_counter()
            waits = {kind: asyncio.create_task(arrival(peer, marker, sent_at)) for kind, peer in peers.items()}
            await editor.edit(append(FILE, marker))
            for kind, wait in waits.items():
                samples[kind].append(await wait)
            await asyncio.sleep(ROUND_PAUSE_S)
    return {kind: Latency.of(values).as_dict() for kind, values in samples.items()}


async def pad_homed_on(cluster: LocalCluster, stack: AsyncExitStack, node: str) -> tuple[dict[str, Any], str]:
    """A pad whose home is `node`, with acknowledged edits, its peer held open by `stack`; and its text."""
    front = f"ws://127.0.0.1:{cluster.layout.front_port}"
    for _ in range(30):
        pad = await asyncio.to_thread(create_pad_at, cluster.layout.front_url)
        peer = await pad_peer(stack, front, pad, "typist")
        if await asyncio.to_thread(cluster.pad_home, pad["id"]) == node:
            for i in range(20):
                await peer.edit(append(FILE, f"k{i};"))
            await peer.roundtrip(10)
            return pad, peer.files()[FILE]
        await peer.close()
    raise RuntimeError(f"no pad landed on {node} in 30 tries")


async def read_back(cluster: LocalCluster, pad: dict[str, Any], expected: str, since: float) -> float:
    """Seconds from `since` until a fresh peer through the front reads `expected`."""
    front = f"ws://127.0.0.1:{cluster.layout.front_port}"
    while time.perf_counter() - since < 60:
        try:
            async with AsyncExitStack() as stack:
                if (await pad_peer(stack, front, pad, "reader")).files().get(FILE) == expected:
                    return time.perf_counter() - since
        except (OSError, TimeoutError, AssertionError, websockets.WebSocketException):
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the killed home's pad did not come back within 60 s")


async def kill_to_told(cluster: LocalCluster) -> dict[str, Any]:
    in_rotation(cluster, cluster.layout.nodes)
    await asyncio.sleep(2.5)
    async with AsyncExitStack() as stack:
        runs = []
        for _ in range(3):
            ws = await stack.enter_async_context(connect(f"ws://127.0.0.1:{cluster.layout.front_port}/ws"))
            client = Client(ws)
            await client.run(language="python", source=WAIT)
            runs.append((client, (await client.until(lambda f: f.type == "started")).message))
        victim = owner_of(runs[0][1]["id"]) or ""
        client, started = runs[0]
        pad, text = await pad_homed_on(cluster, stack, victim)
        killed = time.perf_counter()
        cluster.stop_node(victim, signal.SIGKILL)
        pad_back = asyncio.create_task(read_back(cluster, pad, text, killed))
        await client.collect(10)
        dropped = time.perf_counter() - killed
        async with connect(f"ws://127.0.0.1:{cluster.layout.front_port}/ws/runs/{started['id']}") as ws:
            rejoin = Client(ws)
            await rejoin.join(started["id"], started["driver_key"], "driver")
            told = await rejoin.collect(10)
        run_lost = time.perf_counter() - killed
        while not cluster.haproxy_states().get(victim, "").startswith("DOWN"):
            await asyncio.sleep(0.05)
        down = time.perf_counter() - killed
        for other, _ in runs[1:]:
            await other.stdin("bye\n")
            await other.collect(30)
        pad_back_s = await pad_back
    cluster.start_node(victim)
    cluster.wait_for_node(victim)
    return {
        "socket_dropped_s": round(dropped, 3),
        "run_lost_answered_s": round(run_lost, 3),
        "run_lost_code": told.error["code"] if told.of("error") else None,
        "haproxy_down_s": round(down, 3),
        "pad_back_s": round(pad_back_s, 3),
    }


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="padbox-bench-cluster-"))
    os.chmod(root, 0o755)
    env = {"PADBOX_MAX_SESSIONS_PER_CLIENT": "1000", "PADBOX_SESSIONS_PER_MINUTE": "100000", "PADBOX_DRAIN_S": "5"}
    cluster = LocalCluster(Layout(str(root), port=8600, instance_prefix=f"bench-{os.getpid()}", env=env))
    await asyncio.to_thread(cluster.up)
    try:
        rates = [await rate(cluster, n, plan) for n in (1, 2, 3)]
        joins = await join_latency(cluster, 5 if plan.latency_runs < 20 else 30)
        edits = await edit_propagation(cluster, 20 if plan.latency_runs < 20 else 200)
        in_rotation(cluster, cluster.layout.nodes)
        loss = await kill_to_told(cluster)
    finally:
        await asyncio.to_thread(cluster.down)
    return {
        "cores": os.cpu_count(),
        "runs_per_second": rates,
        "join_latency": joins,
        "node_loss": loss,
        "edit_propagation": edits,
    }


def markdown(section: dict[str, Any]) -> list[str]:
    lines = [
        "### Cluster (three nodes, HAProxy, Redis on this machine)",
        "",
        f"All nodes share these {section['cores']} cores and one Docker engine: more nodes add routing, not CPU.",
        "",
        "| nodes | runs/s | failed | runs by node | node CPU share of the machine | machine busy |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in section["runs_per_second"]:
        by = ", ".join(f"{n} {c}" for n, c in r["runs_by_node"].items())
        share = ", ".join(f"{n} {s:.0%}" for n, s in r["cpu_share"].items())
        lines.append(f"| {r['nodes']} | {r['runs_per_s']} | {r['failed']} | {by} | {share} | {r['machine_busy']:.0%} |")
    lines += ["", "| join (connect + join → snapshot) | p50 ms | p95 ms |", "| --- | --- | --- |"]
    for kind, latency in section["join_latency"].items():
        lines.append(f"| {kind.replace('_', ' ')} | {latency['p50_ms']} | {latency['p95_ms']} |")
    loss = section["node_loss"]
    lines += [
        "",
        f"`kill -9` of a node: its clients' sockets dropped after {loss['socket_dropped_s']} s, a rejoin through the "
        f"front answered `{loss['run_lost_code']}` after {loss['run_lost_answered_s']} s, HAProxy marked it DOWN "
        f"after {loss['haproxy_down_s']} s; a pad it was home to read back whole through the front after "
        f"{loss['pad_back_s']} s.",
        "",
        "| edit propagation (editor through the front) | p50 ms | p95 ms |",
        "| --- | --- | --- |",
    ]
    for kind, latency in section["edit_propagation"].items():
        to = "a peer through the front" if kind == "front" else "a peer on another node (relayed)"
        lines.append(f"| to {to} | {latency['p50_ms']} | {latency['p95_ms']} |")
    return [*lines, ""]
    return lines
