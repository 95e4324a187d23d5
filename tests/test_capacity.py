"""Warm pool, admission queue and backpressure against a real server and Docker."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from padbox.client import Client, connect, run_program
from tests.conftest import (
    PRINT_HOST,
    ServerProcess,
    docker_containers,
    expected_isolation,
    instance_name,
    metric,
    run_processes,
    start_server,
)
from tests.eventually import eventually

pytestmark = pytest.mark.docker

COMPARED_HOST_CONFIG = (
    "NetworkMode",
    "CapDrop",
    "SecurityOpt",
    "ReadonlyRootfs",
    "Tmpfs",
    "Memory",
    "MemorySwap",
    "PidsLimit",
    "NanoCpus",
    "Ulimits",
    "Init",
    "IpcMode",
    "LogConfig",
    "OomScoreAdj",
    "Runtime",
)


def inspect(container: str) -> dict[str, object]:
    out = subprocess.run(["docker", "inspect", container], capture_output=True, check=True, text=True).stdout
    return dict(json.loads(out)[0])


def pool_ready(server: ServerProcess) -> int:
    """How many warm sandboxes the server itself holds ready (its handshake done): a container Docker lists
    may still be starting its agent, and a run arriving then rightly gets a cold one."""
    return int(metric(server, "padbox_pool_ready"))


def pooled_idle(server: ServerProcess) -> list[str]:
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--filter",
            f"label=padbox.instance={server.instance}",
            "--filter",
            "label=padbox.origin=pool",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def pooled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(tmp_path_factory.mktemp("pool"), instance_name("pytest-pool"), PADBOX_POOL_SIZE="2")
    yield srv
    srv.stop()
    assert docker_containers(instance_name("pytest-pool")) == [], "shutdown removes the pool"


async def test_a_session_gets_a_pooled_container_and_the_pool_refills(pooled_server: ServerProcess) -> None:
    await eventually(lambda: len(pooled_idle(pooled_server)) == 2 and pool_ready(pooled_server) == 2, 20)
    before = set(pooled_idle(pooled_server))
    t = await run_program(pooled_server.ws_url, language="python", source=PRINT_HOST + "print('warm')")
    host, _, text = t.text().partition("\n")
    assert text == "warm\n"
    assert host in before, "the run's container was made by the pool, before the run"
    if expected_isolation() == "namespace":
        # The host comes back with a fresh box: the pool is full again with the very same containers.
        await eventually(lambda: pool_ready(pooled_server) == 2 and set(pooled_idle(pooled_server)) == before, 20)
        assert run_processes(host) == [], "nothing of the run is left in its host"
    else:
        await eventually(lambda: run_processes(host) is None and len(pooled_idle(pooled_server)) == 2, 20)
        assert set(pooled_idle(pooled_server)) != before, "the pool refilled with a new container"


async def test_pooled_containers_carry_exactly_the_cold_settings(pooled_server: ServerProcess) -> None:
    await eventually(lambda: len(pooled_idle(pooled_server)) >= 1, 20)
    pooled = inspect(pooled_idle(pooled_server)[0])
    async with connect(pooled_server.ws_url) as ws:
        client = Client(ws)
        # A smaller memory limit means smaller work directories, fixed when a container is made: no pooled
        # container can take it, so this run's is made cold. Everything else must be the pool's.
        await client.run(language="bash", source="echo up; sleep 30", limits={"memory_mb": 128})
        started = await client.until(lambda f: f.type == "started")
        await client.until_output("up")
        (cold_id,) = docker_containers(instance_name("pytest-pool"), started.message["id"])
        cold = inspect(cold_id)
        await client.signal("SIGKILL")
        await client.collect()
    pooled_host, cold_host = pooled["HostConfig"], cold["HostConfig"]
    assert isinstance(pooled_host, dict) and isinstance(cold_host, dict)
    assert cold["Config"]["Labels"]["padbox.origin"] == "cold"  # type: ignore[index]
    assert cold_host["Memory"] == 128 << 20 and pooled_host["Memory"] == 256 << 20
    for key in COMPARED_HOST_CONFIG:
        if key not in ("Memory", "MemorySwap", "Tmpfs"):
            assert pooled_host.get(key) == cold_host.get(key), key
    for key in ("User", "Env", "WorkingDir", "Image"):
        assert pooled["Config"][key] == cold["Config"][key], key  # type: ignore[index]

    def command(config: object) -> list[str]:
        """The agent's command, but the box sizes (its tmpfs follow the memory limit, like the Tmpfs above)."""
        assert isinstance(config, dict)
        return [arg.partition("=")[0] if arg.startswith("--boxes=") else arg for arg in config["Cmd"]]

    assert command(pooled["Config"]) == command(cold["Config"])


async def test_start_up_does_not_wait_for_the_pool(tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = start_server(tmp_path_factory.mktemp("bigpool"), instance_name("pytest-bigpool"), PADBOX_POOL_SIZE="6")
    try:
        assert len(pooled_idle(srv)) < 6, "the server answered before its pool was full"
        t = await run_program(srv.ws_url, language="python", source="print(2)")
        assert t.verdict == "ok"
    finally:
        srv.stop()
    assert docker_containers(instance_name("pytest-bigpool")) == []


@pytest.fixture(scope="module")
def single_slot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("queue"),
        instance_name("pytest-queue"),
        PADBOX_MAX_SESSIONS="1",
        PADBOX_QUEUE_LIMIT="1",
        PADBOX_POOL_SIZE="0",
    )
    yield srv
    srv.stop()


async def test_second_client_is_queued_at_position_one_then_runs(single_slot_server: ServerProcess) -> None:
    url = single_slot_server.ws_url
    async with connect(url) as first_ws, connect(url) as second_ws:
        first, second = Client(first_ws), Client(second_ws)
        await first.run(language="python", source="input()\nprint('first done')")
        await first.until(lambda f: f.type == "stage")
        await second.run(language="python", source="print('second ran')")
        queued = await second.until(lambda f: f.type == "queued")
        assert queued.message["position"] == 1
        assert not second.transcript.of("started"), "a queued run has not started"
        await first.stdin("go\n")
        first_t = await first.collect()
        second_t = await second.collect()
    assert first_t.text() == "first done\n"
    assert second_t.text() == "second ran\n" and second_t.verdict == "ok"


async def test_full_queue_gets_busy_with_close_1013(single_slot_server: ServerProcess) -> None:
    url = single_slot_server.ws_url
    async with connect(url) as a, connect(url) as b, connect(url) as c:
        first, second, third = Client(a), Client(b), Client(c)
        await first.run(language="python", source="input()")
        await first.until(lambda f: f.type == "stage")
        await second.run(language="python", source="print(1)")
        await second.until(lambda f: f.type == "queued")
        await third.run(language="python", source="print(1)")
        t = await third.collect(timeout=10)
        assert t.error["code"] == "busy" and t.close_code == 1013
        await first.eof()
        await first.collect()
        assert (await second.collect()).verdict == "ok"


async def test_queued_client_that_disconnects_never_gets_a_container(single_slot_server: ServerProcess) -> None:
    url = single_slot_server.ws_url
    since = time.time()
    async with connect(url) as first_ws:
        first = Client(first_ws)
        await first.run(language="python", source="input()")
        await first.until(lambda f: f.type == "stage")
        async with connect(url) as leaver_ws:
            leaver = Client(leaver_ws)
            await leaver.run(language="python", source="print('should never run')")
            await leaver.until(lambda f: f.type == "queued")
        await eventually(lambda: metric(single_slot_server, "padbox_queue_length") == 0, 10, "the leaver is gone")
        await first.eof()
        await first.collect()
    # The marker: the queue is first come, first served, so a leaver's run still waiting would have had the slot
    # (and a container) before this one.
    t = await run_program(url, language="python", source="print('after')")
    assert t.text() == "after\n"
    created = subprocess.run(
        [
            "docker",
            "events",
            "--since",
            f"{since:.3f}",
            "--until",
            f"{time.time():.3f}",
            "--filter",
            "event=create",
            "--filter",
            f"label=padbox.instance={single_slot_server.instance}",
            "--format",
            "{{.ID}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(created) == 2, "only the first run and the marker got a container; the leaver's run never did"


async def test_client_that_stops_reading_keeps_server_memory_bounded(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    srv = start_server(
        tmp_path_factory.mktemp("backpressure"),
        instance_name("pytest-backpressure"),
        PADBOX_MAX_OUTPUT_KB="1048576",
        PADBOX_POOL_SIZE="0",
    )
    try:
        baseline = rss_bytes(srv.process.pid)
        flood = "import sys\nchunk = b'x' * 65536\nwhile True:\n    sys.stdout.buffer.write(chunk)\n"
        async with connect(srv.ws_url, max_queue=1) as ws:
            client = Client(ws)
            await client.run(language="python", source=flood, limits={"output_kb": 1048576, "run_timeout_s": 60})
            await client.until(lambda f: f.type == "stdout")
            await asyncio.sleep(6)  # the client reads nothing; the program keeps trying to write
            grown = rss_bytes(srv.process.pid) - baseline
            await client.signal("SIGKILL")
        assert grown < 64 * 1024 * 1024, f"server grew by {grown / 1e6:.0f} MB for a client that stopped reading"
    finally:
        srv.stop()


async def test_a_pooled_sandbox_that_died_while_waiting_is_replaced_by_a_cold_one(
    pooled_server: ServerProcess,
) -> None:
    await eventually(lambda: len(pooled_idle(pooled_server)) == 2, 20)
    for container in pooled_idle(pooled_server):
        subprocess.run(["docker", "kill", container], capture_output=True, check=True)
    t = await run_program(pooled_server.ws_url, language="python", source="print('still fine')")
    assert t.text() == "still fine\n" and t.verdict == "ok", t.frames
