"""Crash recovery: the server dies by SIGKILL while attacks run. Its sandboxes stop by themselves at
once (each agent's stdin closes with the server's attach), and a restarted server removes them."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest

from padbox.client import Client, connect, run_program
from tests.conftest import ServerProcess, docker_containers, start_server
from tests.eventually import eventually
from tests.security.target import program

pytestmark = pytest.mark.docker

ATTACKS = [  # language, source, limits, what it prints once it is under way
    ("python", "print('up', flush=True)\nwhile True: pass\n", {"run_timeout_s": 60}, "up"),
    (
        "c",
        '#include <stdio.h>\n#include <unistd.h>\nint main(void) { puts("up"); fflush(stdout); for (;;) fork(); }',
        {"run_timeout_s": 60, "pids": 32},
        "up",
    ),
    ("python", program("daemons.py") + "import time\ntime.sleep(600)\n", {"run_timeout_s": 60}, "planted"),
]


def running_containers(instance: str, origin: str | None = None) -> list[str]:
    only = ["--filter", f"label=padbox.origin={origin}"] if origin else []
    out = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=padbox.instance={instance}", *only],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


async def test_sandboxes_stop_when_the_server_is_killed_and_a_restart_removes_them(tmp_path: Path) -> None:
    instance = f"pytest-crash-{time.monotonic_ns()}"
    first: ServerProcess = start_server(tmp_path, instance, PADBOX_POOL_SIZE="1")
    sockets = []
    try:
        for language, source, limits, under_way in ATTACKS:
            ws = await connect(first.ws_url).__aenter__()
            client = Client(ws)
            await client.run(language=language, source=source, args=["padbox-crash-survivor"], limits=limits)
            await client.until_output(under_way, timeout=60)
            sockets.append(ws)
        await eventually(lambda: running_containers(instance, "pool"), 20, "the pool refilled")
        first.stop(signal.SIGKILL)
        await eventually(lambda: not running_containers(instance), 5, "sandboxes ran on with no server to watch them")
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        if first.process.poll() is None:
            first.stop(signal.SIGKILL)
    assert docker_containers(instance), "the stopped containers await the restart"
    second = start_server(tmp_path, instance, PADBOX_POOL_SIZE="0")
    try:
        await eventually(lambda: not docker_containers(instance), 5, "the restart removed the leftovers")
        t = await run_program(second.ws_url, language="python", source="print('back')")
        assert t.text() == "back\n"
    finally:
        second.stop()
    assert docker_containers(instance) == []
