"""The warm pool against a real server and Docker: a run with its own limits gets a warm sandbox with exactly
those limits, and a burst grows the pool, which then shrinks back to its floor with nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from padbox.client import Client, connect, run_program
from tests.conftest import PRINT_HOST, ServerProcess, docker_containers, instance_name, metric, start_server
from tests.eventually import eventually

pytestmark = pytest.mark.docker

FLOOR = 2
WINDOW_S = 4

# cgroup v2's files, else v1's (as the kernel shows them inside the container)
JAVA_READS_ITS_LIMITS = """
import java.nio.file.*;
public class Main {
    static String first(String... paths) throws Exception {
        for (String p : paths) if (Files.exists(Path.of(p))) return Files.readString(Path.of(p)).trim();
        return "none";
    }
    public static void main(String[] args) throws Exception {
        String memory = first("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes");
        String pids = first("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max");
        System.out.println("limits " + memory + " " + pids);
        System.out.println("heap " + Runtime.getRuntime().maxMemory());
        System.in.read();
    }
}
"""


def inspect(container: str) -> dict[str, object]:
    out = subprocess.run(["docker", "inspect", container], capture_output=True, check=True, text=True).stdout
    return dict(json.loads(out)[0])


def demand_server(tmp_path_factory: pytest.TempPathFactory, isolation: str) -> Iterator[ServerProcess]:
    instance = instance_name(f"pytest-demand-{isolation}")
    srv = start_server(
        tmp_path_factory.mktemp("demand"),
        instance,
        PADBOX_POOL_SIZE=str(FLOOR),
        PADBOX_POOL_MAX="6",
        PADBOX_POOL_WINDOW_S=str(WINDOW_S),
        PADBOX_SESSIONS_PER_MINUTE="100000",
        PADBOX_ISOLATION=isolation,
    )
    yield srv
    srv.stop()
    assert docker_containers(instance) == [], "shutdown removes the pool"


@pytest.fixture(scope="module")
def pool_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The default mode (PADBOX_ISOLATION as the suite runs)."""
    yield from demand_server(tmp_path_factory, os.environ.get("PADBOX_ISOLATION", "auto"))


@pytest.fixture(scope="module")
def container_pool_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from demand_server(tmp_path_factory, "container")


@pytest.fixture(scope="module")
def namespace_pool_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from demand_server(tmp_path_factory, "namespace")


async def test_a_language_with_its_own_limits_gets_a_warm_sandbox_with_exactly_those_limits(
    pool_server: ServerProcess,
) -> None:
    await eventually(lambda: metric(pool_server, "padbox_pool_ready") == FLOOR, 60)
    hits_before = metric(pool_server, "padbox_pool_hits_total")
    async with connect(pool_server.ws_url) as ws:
        client = Client(ws)
        await client.run(language="java", source=JAVA_READS_ITS_LIMITS)
        started = await client.until(lambda f: f.type == "started")
        line = await client.until_output("heap", timeout=60)
        (container,) = docker_containers(pool_server.instance, started.message["id"])
        details = inspect(container)
        await client.eof()
        transcript = await client.collect()
    # Java's manifest entry asks for 512 MB and 256 processes; the server's defaults are 256 MB and 128.
    host = details["HostConfig"]
    labels = details["Config"]["Labels"]  # type: ignore[index]
    assert labels["padbox.origin"] == "pool", "the run got a sandbox made before it"
    assert isinstance(host, dict)
    assert (host["Memory"], host["MemorySwap"], host["PidsLimit"]) == (512 << 20, 512 << 20, 256)
    # and the kernel applied them before the program started (the JVM sized its heap from them)
    assert f"limits {512 << 20} 256" in transcript.text(), transcript.text()
    heap = int(transcript.text().split("heap ")[1].split()[0])
    assert 256 << 20 < heap <= 512 << 20, line.message
    assert transcript.verdict == "ok"
    assert metric(pool_server, "padbox_pool_hits_total") == hits_before + 1


async def test_a_burst_from_one_client_is_served_by_the_pools_own_hosts_renewed(
    namespace_pool_server: ServerProcess,
) -> None:
    """Namespace mode: one client back to back needs no new container; each run's host comes back renewed."""
    pool_server = namespace_pool_server
    await eventually(lambda: metric(pool_server, "padbox_pool_ready") == FLOOR, 60)
    before = set(docker_containers(pool_server.instance))
    renewed = metric(pool_server, "padbox_pool_renewed_total")
    hosts = set()
    for _ in range(12):
        transcript = await run_program(pool_server.ws_url, language="python", source=PRINT_HOST + "print('hi')")
        host, _, text = transcript.text().partition("\n")
        assert text == "hi\n", transcript.frames
        hosts.add(host)
    assert hosts <= before, "every run was hosted by a container the pool had before the burst"
    await eventually(lambda: metric(pool_server, "padbox_pool_renewed_total") - renewed == 12, 10, "all renewed")
    assert set(docker_containers(pool_server.instance)) == before, "no container was made for the burst"


async def test_a_burst_from_one_client_grows_the_pool_then_it_shrinks_to_its_floor(
    container_pool_server: ServerProcess,
) -> None:
    """Container mode: the pool follows the burst's arrival rate, then shrinks back."""
    pool_server = container_pool_server
    await eventually(lambda: metric(pool_server, "padbox_pool_ready") == FLOOR, 60)
    run_ids: list[str] = []
    highest_target = 0.0
    for _ in range(12):  # back to back, as fast as one client goes
        transcript = await run_program(pool_server.ws_url, language="python", source="print('hi')")
        assert transcript.text() == "hi\n" and transcript.run_id is not None
        run_ids.append(transcript.run_id)
        highest_target = max(highest_target, metric(pool_server, "padbox_pool_target"))
    assert highest_target > FLOOR, "the pool followed the burst"
    await eventually(lambda: metric(pool_server, "padbox_pool_size") > FLOOR, 10)  # refilling past the floor
    # A whole window without a run: back at the floor, and nothing of the burst is left.
    await eventually(
        lambda: (
            metric(pool_server, "padbox_pool_size") == FLOOR
            and metric(pool_server, "padbox_pool_target") == FLOOR
            and len(docker_containers(pool_server.instance)) == FLOOR
        ),
        WINDOW_S * 5,
    )
    for run_id in run_ids:
        assert docker_containers(pool_server.instance, run_id) == [], "a run's container outlived it"
    assert metric(pool_server, "padbox_pool_hits_total") + metric(pool_server, "padbox_pool_misses_total") >= 12
