"""Faults to one sandbox, the engine staying up: its container killed or removed from outside during a run,
a warm one killed while it waits, its agent frozen; and the server's connection to the engine cut (through a
relay, so no other test's engine stops). The server's own crash is tests/security/test_crash_recovery.py."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from padbox.client import run_program
from tests.conftest import REPO, ServerProcess, docker_containers, metric, start_server
from tests.eventually import eventually
from tests.faults.conftest import (
    SILENT,
    a_normal_run_works,
    assert_lost,
    docker,
    nothing_left,
    readyz,
    record,
    running,
    start_silent_run,
)

pytestmark = pytest.mark.docker

PING_TIMEOUT_S = 10  # PADBOX_PING_TIMEOUT_S's default: the suite measures the server as it ships


FAULTS = {"kill": ["kill"], "rm": ["rm", "-f"], "stop": ["stop"]}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_container_killed_stopped_or_removed_from_outside_is_sandbox_lost_and_the_server_keeps_serving(
    fault_server: ServerProcess, fault: str
) -> None:
    client, container = await start_silent_run(fault_server)
    try:
        struck = time.monotonic()
        docker(*FAULTS[fault], container)
        t = await client.collect(timeout=30)
        detected = time.monotonic() - struck
    finally:
        await client.ws.close()
    assert_lost(t)
    # `docker stop` (as a stopping engine does) waits the container's StopTimeout, 1 s: the agent ignores SIGTERM
    assert detected < 5, "the end of the attach stream is noticed at once"
    assert readyz(fault_server.url)[0] == 200, "one lost container does not make the server unready"
    recovered = await a_normal_run_works(fault_server)
    await eventually(nothing_left(fault_server), 10, "the lost container removed")
    record(f"container `docker {fault}` during a run", "sandbox_lost after the fault", detected)
    record(f"container `docker {fault}` during a run", "next run, end to end", recovered)


async def test_an_http_run_whose_container_is_killed_answers_502_sandbox_lost(fault_server: ServerProcess) -> None:
    body = {"language": "python", "source": SILENT, "limits": {"run_timeout_s": 60}}

    def post() -> tuple[int, dict[str, object]]:
        answer = httpx.post(f"{fault_server.url}/api/v1/execute", json=body, timeout=60)
        return answer.status_code, answer.json()

    answer = asyncio.get_running_loop().run_in_executor(None, post)
    await eventually(lambda: len(running(fault_server.instance)) == 1, 30, "the run's container started")
    await asyncio.sleep(1)  # the program is under way
    docker("kill", *running(fault_server.instance))
    status, error = await asyncio.wait_for(answer, 30)
    assert status == 502 and error["type"] == "error" and error["code"] == "sandbox_lost", (status, error)
    await a_normal_run_works(fault_server)
    await eventually(nothing_left(fault_server), 10, "the lost container removed")


async def test_a_frozen_agent_is_sandbox_lost_within_the_liveness_timeout_and_its_container_removed(
    fault_server: ServerProcess,
) -> None:
    client, container = await start_silent_run(fault_server)
    pid = docker("inspect", "-f", "{{.State.Pid}}", container)
    try:
        struck = time.monotonic()
        subprocess.run(["kill", "-STOP", pid], check=True)  # the agent, pid 1 in the sandbox, from the host
        t = await client.collect(timeout=PING_TIMEOUT_S + 20)
        detected = time.monotonic() - struck
    finally:
        await client.ws.close()
        subprocess.run(["kill", "-CONT", pid], capture_output=True)
    assert_lost(t)
    assert "did not answer for 10 s" in t.error["message"]
    assert PING_TIMEOUT_S - 2.5 <= detected <= PING_TIMEOUT_S + 5, detected
    assert readyz(fault_server.url)[0] == 200
    removed = await eventually(nothing_left(fault_server), 10, "the frozen sandbox removed")
    recovered = await a_normal_run_works(fault_server)
    record("agent frozen (SIGSTOP of the sandbox's pid 1)", "sandbox_lost after the fault", detected)
    record("agent frozen (SIGSTOP of the sandbox's pid 1)", "container removed after the error", removed)
    record("agent frozen (SIGSTOP of the sandbox's pid 1)", "next run, end to end", recovered)


async def test_a_warm_sandbox_killed_while_it_waits_gives_way_to_a_cold_one_and_the_pool_refills(
    tmp_path: Path,
) -> None:
    instance = f"pytest-faults-pool-{time.monotonic_ns()}"
    srv = start_server(tmp_path, instance, PADBOX_POOL_SIZE="1", PADBOX_SESSIONS_PER_MINUTE="100000")
    try:
        await eventually(lambda: len(running(instance, "pool")) == 1, 30, "the pool filled")
        (warm,) = running(instance, "pool")
        docker("kill", warm)
        struck = time.monotonic()
        recovered = await a_normal_run_works(srv)  # the dead warm sandbox is found, a cold one runs it
        assert readyz(srv.url)[0] == 200
        # The pool is whole again: a new warm container, or (namespace mode) the cold one that ran the run, renewed.
        refilled = await eventually(
            lambda: (
                readyz(srv.url)[0] == 200
                and metric(srv, "padbox_pool_ready") == 1
                and running(instance) not in ([], [warm])
            ),
            30,
            "the pool refilled",
        )
        await eventually(lambda: warm not in docker_containers(instance), 10, "the dead warm sandbox removed")
        await eventually(
            lambda: set(docker_containers(instance)) == set(running(instance)) and len(running(instance)) == 1,
            10,
            "nothing but the new warm sandbox is left",
        )
        record("warm sandbox `docker kill` while idle", "next run, end to end", recovered)
        record("warm sandbox `docker kill` while idle", "pool refilled after the fault", time.monotonic() - struck)
        assert refilled < 30
    finally:
        srv.stop(signal.SIGTERM)
    assert docker_containers(instance) == []


class EngineRelay:
    """tests/faults/engine_proxy.py as a process: `cut` kills it, `restore` starts a new one."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.process: subprocess.Popen[bytes] | None = None

    def restore(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.engine_proxy", str(self.socket), "/var/run/docker.sock"], cwd=REPO
        )
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            assert time.monotonic() < deadline, "the relay did not listen"
            time.sleep(0.02)  # a poll on a condition with its deadline above (sync code)

    @property
    def up(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cut(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.socket.unlink(missing_ok=True)


async def test_a_server_cut_off_from_its_engine_tells_runs_sandbox_lost_is_unready_and_recovers_by_itself(
    tmp_path: Path,
) -> None:
    instance = f"pytest-faults-cut-{time.monotonic_ns()}"
    relay = EngineRelay(tmp_path / "engine.sock")
    relay.restore()
    srv = start_server(
        tmp_path,
        instance,
        PADBOX_POOL_SIZE="1",
        PADBOX_SESSIONS_PER_MINUTE="100000",
        DOCKER_HOST=f"unix://{relay.socket}",
    )
    client = None
    try:
        await eventually(lambda: len(running(instance, "pool")) == 1, 30, "the pool filled")
        client, _ = await start_silent_run(srv)
        relay.cut()
        struck = time.monotonic()
        t = await client.collect(timeout=30)
        detected = time.monotonic() - struck
        assert_lost(t)
        status, body = readyz(srv.url)
        assert status == 503 and body["docker"] is False, body
        refused = await run_program(srv.ws_url, language="python", source="print('too soon')", timeout=60)
        assert refused.run_id is None and refused.error["code"] == "internal", refused.frames

        relay.restore()
        restored = time.monotonic()
        await eventually(lambda: readyz(srv.url)[0] == 200, 30, "ready again by itself")
        ready = time.monotonic() - restored
        first = await a_normal_run_works(srv)  # the warm sandbox died with the link: found, replaced
        await eventually(
            lambda: set(docker_containers(instance)) == set(running(instance, "pool")) != set(),
            30,
            "the containers it could not remove while cut off are removed, and the pool refilled",
        )
        record("engine connection cut during a run", "sandbox_lost after the cut", detected)
        record("engine connection cut during a run", "/readyz 200 after the engine answers", ready)
        record("engine connection cut during a run", "first run after /readyz 200 (stale pool)", first)
    finally:
        if client is not None:
            await client.ws.close()
        if not relay.up:
            relay.restore()  # the server removes its containers through it on its way out
        srv.stop()
        relay.cut()
    assert docker_containers(instance) == []
