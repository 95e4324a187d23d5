"""Faults to the Docker engine itself: dockerd stopped and started again (as runner-image/ensure-docker.sh
starts it; there is no systemd) during a run and during a sandbox's creation, and absent when the server
starts. These stop every container on the host, so they run after every other test (the `engine_restart`
marker; tests/conftest.py orders them), and each leaves the engine running, whatever happened."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from padbox.client import run_program
from tests.conftest import docker_containers, start_server
from tests.eventually import eventually
from tests.faults.conftest import (
    a_normal_run_works,
    assert_lost,
    docker,
    engine_gone,
    nothing_left,
    readyz,
    record,
    running,
    start_engine,
    start_silent_run,
    stop_engine_begin,
)

pytestmark = [pytest.mark.docker, pytest.mark.engine_restart]

IMAGE = os.environ.get("PADBOX_IMAGE", "padbox-runner:latest")
ENGINE_STOP_S = 60  # dockerd stops each container (StopTimeout 1 s), then itself; generous for a busy host


async def test_an_engine_restart_ends_runs_as_sandbox_lost_and_creations_as_internal_then_service_resumes(
    tmp_path: Path, engine_left_running: None
) -> None:
    """Server `warm` has a warm pool and a running program; server `cold` is asked for a new sandbox as the
    engine stops. Both must serve again once the engine is back, with nothing left behind."""
    tag = time.monotonic_ns()
    warm = start_server(tmp_path, f"pytest-engine-warm-{tag}", PADBOX_POOL_SIZE="1", PADBOX_SESSIONS_PER_MINUTE="1000")
    cold = start_server(tmp_path, f"pytest-engine-cold-{tag}", PADBOX_POOL_SIZE="0", PADBOX_SESSIONS_PER_MINUTE="1000")
    client = None
    try:
        await eventually(lambda: len(running(warm.instance, "pool")) == 1, 30, "the pool filled")
        client, _ = await start_silent_run(warm)
        pid = stop_engine_begin()
        struck = time.monotonic()
        late = await run_program(cold.ws_url, language="python", source="print('late')", timeout=120)

        t = await client.collect(timeout=ENGINE_STOP_S)
        detected = time.monotonic() - struck
        assert_lost(t)
        record("dockerd stopped during a run", "sandbox_lost after SIGTERM to dockerd", detected)
        if late.run_id is None:  # refused before it had a sandbox: no program ran, so `internal`
            assert late.error["code"] == "internal" and late.close_code == 1011, late.frames
            outcome = "internal"
        elif late.verdict is None:  # it had one, and lost it under the program
            assert_lost(late)
            outcome = "sandbox_lost"
        else:  # the stopping engine still made it a sandbox, and the program finished first: a true verdict
            assert late.verdict == "ok", late.frames
            outcome = "ok"
        record("dockerd stopped during sandbox creation", f"`{outcome}` after SIGTERM", time.monotonic() - struck)

        stopped_s = await eventually(lambda: engine_gone(pid), ENGINE_STOP_S, "dockerd stopped")
        for server in (warm, cold):
            status, body = readyz(server.url)
            assert status == 503 and body["docker"] is False, body
            assert "no Docker engine answers" in body["problems"][0]
        record("dockerd stopped during a run", "dockerd gone after SIGTERM", stopped_s + detected)

        start_engine()
        restarted = time.monotonic()
        for server in (warm, cold):
            await eventually(lambda s=server: readyz(s.url)[0] == 200, 60, "ready again by itself")
            record(
                "dockerd restarted",
                f"/readyz 200 after the engine answers ({server.instance.split('-')[2]})",
                time.monotonic() - restarted,
            )
        first = await a_normal_run_works(warm)  # its warm sandbox died with the engine: found, and replaced
        await a_normal_run_works(cold)
        record("dockerd restarted", "first run after /readyz 200 (stale pool)", first)
        await eventually(lambda: len(running(warm.instance, "pool")) == 1, 30, "the pool refilled")
        for server in (warm, cold):
            await eventually(nothing_left(server), 30, "the containers the engine stopped are removed")
    finally:
        if client is not None:
            await client.ws.close()
        for server in (warm, cold):
            server.stop(signal.SIGTERM, timeout=60)
    start_engine()
    assert docker_containers(warm.instance) == docker_containers(cold.instance) == []


async def test_an_engine_absent_at_start_up_then_started_makes_the_server_ready_by_itself(
    tmp_path: Path, engine_left_running: None
) -> None:
    instance = f"pytest-engine-absent-{time.monotonic_ns()}"
    # A container an earlier server of this instance left: removed once the engine answers.
    leftover = docker(
        "create", "--label", f"padbox.instance={instance}", "--label", "padbox.session=leftover", IMAGE, "true"
    )[:12]
    pid = stop_engine_begin()
    await eventually(lambda: engine_gone(pid), ENGINE_STOP_S, "dockerd stopped")
    server = start_server(
        tmp_path, instance, engine_required=False, PADBOX_POOL_SIZE="1", PADBOX_SESSIONS_PER_MINUTE="1000"
    )
    try:
        status, body = readyz(server.url)
        assert status == 503 and body["docker"] is False, body
        refused = await run_program(server.ws_url, language="python", source="print('too soon')", timeout=60)
        assert refused.run_id is None and refused.error["code"] == "internal" and refused.close_code == 1011

        start_engine()
        started = time.monotonic()
        ready = await eventually(lambda: readyz(server.url)[0] == 200, 60, "ready by itself once the engine answers")
        record("dockerd absent at start-up, then started", "/readyz 200 after the engine answers", ready)
        first = await a_normal_run_works(server)
        record("dockerd absent at start-up, then started", "first run after /readyz 200", first)
        await eventually(
            lambda: leftover not in docker_containers(instance), 10, "the earlier server's leftover reaped"
        )
        await eventually(
            lambda: set(docker_containers(instance)) == set(running(instance, "pool")) != set(),
            30,
            "the pool filled, and nothing else is left",
        )
        assert time.monotonic() - started < 90
    finally:
        server.stop(signal.SIGTERM, timeout=60)
    assert docker_containers(instance) == []
