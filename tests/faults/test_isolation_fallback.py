"""Where no per-run sandbox can be made, `auto` notices at start, says so in one log line, and gives every run a
container of its own; `namespace` forced fails runs with the reason.

The refusal here is an image whose agent cannot make a box: the runner image without libseccomp's Python binding,
which the agent needs for each program's inner filter (a box without it is never made). A host that refuses
unprivileged user namespaces (Ubuntu 24.04's AppArmor restriction, `user.max_user_namespaces=0`) takes the same
path: the agent's first box fails and READY says why. That one cannot be staged here: this machine's root lacks
CAP_SYS_RESOURCE, so `user.max_user_namespaces` cannot be changed."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from padbox.client import run_program
from tests.conftest import docker_containers, metric, require_docker, start_server
from tests.faults.conftest import readyz

pytestmark = pytest.mark.docker

FALLBACK_LINE = "per-run sandboxes are not possible here"
NO_BOXES_IMAGE = "padbox-runner:no-boxes"
WITHOUT_SECCOMP_BINDING = f"""FROM {os.environ.get("PADBOX_IMAGE", "padbox-runner:latest")}
USER root
RUN rm -rf /usr/lib/python3/dist-packages/seccomp*
USER 1000:1000
"""


@pytest.fixture(scope="module")
def no_boxes_image() -> Iterator[str]:
    require_docker()
    subprocess.run(["docker", "build", "-q", "-t", NO_BOXES_IMAGE, "-"], input=WITHOUT_SECCOMP_BINDING, text=True,
                   capture_output=True, check=True, timeout=300)  # fmt: skip
    try:
        yield NO_BOXES_IMAGE
    finally:
        subprocess.run(["docker", "rmi", "-f", NO_BOXES_IMAGE], capture_output=True, timeout=60)


async def test_auto_falls_back_to_a_container_per_run_and_says_so_once(no_boxes_image: str, tmp_path: Path) -> None:
    instance = f"pytest-fallback-{time.monotonic_ns()}"
    srv = start_server(tmp_path, instance, PADBOX_IMAGE=no_boxes_image, PADBOX_POOL_SIZE="1", PADBOX_ISOLATION="auto")
    try:
        for _ in range(2):
            t = await run_program(srv.ws_url, language="python", source="import os\nprint(os.getpid())")
            assert t.verdict == "ok", t.frames
        status, body = readyz(srv.url)
        assert status == 200 and body["isolation"] == "container"
        lines = [line for line in srv.log().splitlines() if FALLBACK_LINE in line]
        assert len(lines) == 1 and "seccomp" in lines[0], lines
        assert metric(srv, 'padbox_isolation{mode="container"}') == 1
    finally:
        srv.stop()
    assert docker_containers(instance) == []


async def test_namespace_forced_fails_runs_with_the_reason(no_boxes_image: str, tmp_path: Path) -> None:
    instance = f"pytest-forced-{time.monotonic_ns()}"
    srv = start_server(
        tmp_path, instance, PADBOX_IMAGE=no_boxes_image, PADBOX_POOL_SIZE="0", PADBOX_ISOLATION="namespace"
    )
    try:
        t = await run_program(srv.ws_url, language="python", source="print(1)")
        (error,) = t.of("error")
        assert error["code"] == "internal" and "PADBOX_ISOLATION=namespace" in error["message"], error
        assert not t.of("stage"), "no program ran"
    finally:
        srv.stop()
    assert docker_containers(instance) == []
