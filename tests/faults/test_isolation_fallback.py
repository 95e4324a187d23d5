"""A host that refuses unprivileged user namespaces (as Ubuntu 24.04's AppArmor restriction does): `auto` notices at
start, says so in one log line, and gives every run a container of its own; `namespace` forced fails runs with the
reason. The refusal is the real kernel's: `user.max_user_namespaces` set to 0 for the test, and put back after."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from padbox.client import run_program
from tests.conftest import docker_containers, require_docker, start_server
from tests.faults.conftest import readyz

pytestmark = pytest.mark.docker

MAX_USER_NAMESPACES = Path("/proc/sys/user/max_user_namespaces")
FALLBACK_LINE = "per-run sandboxes are not possible here"


@pytest.fixture
def no_user_namespaces() -> Iterator[None]:
    require_docker()
    saved = MAX_USER_NAMESPACES.read_text()
    MAX_USER_NAMESPACES.write_text("0\n")
    try:
        yield
    finally:
        MAX_USER_NAMESPACES.write_text(saved)


async def test_auto_falls_back_to_a_container_per_run_and_says_so_once(
    no_user_namespaces: None, tmp_path: Path
) -> None:
    instance = f"pytest-fallback-{time.monotonic_ns()}"
    srv = start_server(tmp_path, instance, PADBOX_POOL_SIZE="1", PADBOX_ISOLATION="auto")
    try:
        for _ in range(2):
            t = await run_program(srv.ws_url, language="python", source="import os\nprint(os.getpid())")
            assert t.verdict == "ok", t.frames
        status, body = readyz(srv.url)
        assert status == 200 and body["isolation"] == "container"
        lines = [line for line in srv.log().splitlines() if FALLBACK_LINE in line]
        assert len(lines) == 1 and "unshare" in lines[0], lines
    finally:
        srv.stop()
    assert docker_containers(instance) == []


async def test_namespace_forced_fails_runs_with_the_reason(no_user_namespaces: None, tmp_path: Path) -> None:
    instance = f"pytest-forced-{time.monotonic_ns()}"
    srv = start_server(tmp_path, instance, PADBOX_POOL_SIZE="0", PADBOX_ISOLATION="namespace")
    try:
        t = await run_program(srv.ws_url, language="python", source="print(1)")
        (error,) = t.of("error")
        assert error["code"] == "internal" and "PADBOX_ISOLATION=namespace" in error["message"], error
        assert not t.of("stage"), "no program ran"
    finally:
        srv.stop()
    assert docker_containers(instance) == []
