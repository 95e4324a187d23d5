"""Runs that share a host container cannot reach each other (namespace mode), and a container that misbehaved is
retired. Two clients (two tokens) run back to back on a server whose pool holds one container: in namespace mode
every run after the first is hosted by that same container (each run prints the container's host name, which a
box inherits), in container mode each has its own. Either way the second run must find nothing of the first."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from padbox.client import Transcript
from tests.conftest import docker_containers, metric, start_server
from tests.eventually import eventually
from tests.security.target import BOXES, Target, new_secret, program, report

pytestmark = pytest.mark.docker

LOOK = program("look_for_traces.py")
LEAVE = program("leave_traces.py")


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, Target]]:
    first, second = new_secret("alice"), new_secret("bob")
    canary = new_secret("canary")
    instance = f"pytest-isolation-{os.getpid()}"
    srv = start_server(
        tmp_path_factory.mktemp("isolation"),
        instance,
        PADBOX_POOL_SIZE="1",
        PADBOX_POOL_MAX="1",
        PADBOX_TOKENS=f"{first},{second}",
        PADBOX_SESSIONS_PER_MINUTE="100000",
        PADBOX_CANARY=canary,
    )
    yield Target(srv, first, canary), Target(srv, second, canary)
    srv.stop()
    assert docker_containers(instance) == [], "containers outlived the server"


def settled(target: Target) -> bool:
    """The pool holds its one container ready, renewed after the last run: the next run is hosted by it."""
    return metric(target.server, "padbox_pool_ready") == metric(target.server, "padbox_pool_size") == 1


async def hosted_run(target: Target, source: str, *args: str, **limits: Any) -> tuple[Transcript, str]:
    """A run once the pool has settled, and the host name of the container it ran in (first line of its output)."""
    await eventually(lambda: settled(target), 60, "the pool's one container ready again")
    shown = f"import socket; print(socket.gethostname(), flush=True)\n{source}"
    t = await target.run("python", shown, args=list(args), limits=limits or {"run_timeout_s": 20})
    return t, t.text().partition("\n")[0]


def last_json(t: Transcript) -> dict[str, Any]:
    """The JSON report a probe prints last (report() reads the whole output as one document)."""
    line = t.text().strip().splitlines()[-1]
    try:
        value: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError:
        return report(t)
    return value


def isolation_mode(target: Target) -> str:
    return str(httpx.get(f"{target.server.url}/readyz", timeout=10).json()["isolation"])


async def test_the_server_reports_the_mode_it_runs_in(clients: tuple[Target, Target]) -> None:
    alice, _ = clients
    assert isolation_mode(alice) == ("namespace" if BOXES else "container")


async def test_the_next_client_finds_nothing_the_previous_run_left(clients: tuple[Target, Target]) -> None:
    alice, bob = clients
    secret = new_secret("left-behind")
    before, before_host = await hosted_run(bob, LOOK, secret)
    left, left_host = await hosted_run(alice, LEAVE, secret)
    after, after_host = await hosted_run(bob, LOOK, secret)
    assert left.verdict == "ok" and secret in left.text(), left.frames
    did = last_json(left)
    assert did["shm"] != -1 and did["sem"] != -1 and did["msg"] != -1 and did["mq"] != -1, did
    if BOXES:
        assert before_host == left_host == after_host, (
            "one container hosted all three runs",
            before_host,
            left_host,
            after_host,
        )
    else:
        assert len({before_host, left_host, after_host}) == 3, "a container per run"
    baseline, seen = last_json(before), last_json(after)

    # files in /work, /tmp, /dev/shm and $HOME (the work directory holds only the run's own source)
    assert seen["files"] == baseline["files"], seen["files"]
    assert all("trace.txt" not in names for names in seen["files"].values())
    # System V shared memory, semaphores and message queues, and POSIX message queues
    assert (seen["shm"], seen["sem"], seen["msg"], seen["mq"]) == ("ENOENT",) * 4, seen
    # an abstract unix socket and a listener on loopback, held by a daemon the first run left
    assert seen["abstract_socket"] == "ECONNREFUSED" and seen["loopback_listener"] == "ECONNREFUSED", seen
    # no process of the first run (its double-forked daemon, its nohup sleep): only the box's pid 1 and the probe
    commands = [p["cmdline"] for p in seen["processes"]]
    assert not any("sleep" in c or "leave_traces" in c for c in commands), commands
    assert len(seen["processes"]) == len(baseline["processes"]), seen["processes"]
    # environment, umask, rlimits, working directory and host name as every run starts with them
    for key in ("umask", "nofile", "cwd", "env"):
        assert seen[key] == baseline[key], key
    assert did["sethostname"] == "EPERM"
    # the first run's output, through any file or descriptor the second can open
    assert seen["secret_found_in"] == [], seen["secret_found_in"]


async def test_a_box_shows_only_its_own_processes_and_never_the_agent(clients: tuple[Target, Target]) -> None:
    alice, _ = clients
    t, _ = await hosted_run(alice, LOOK)
    seen = last_json(t)
    pids = {p["pid"]: p for p in seen["processes"]}
    if BOXES:
        # pid 1 is the box's keeper; the agent (pid 1 of the container) and the container's other runs are not there
        assert pids[1]["comm"] == "padbox-box", pids
        assert seen["own_pid"] == 2 and set(pids) <= {1, 2, 3}, pids
    else:
        assert pids[1]["comm"] == "python3" and seen["own_pid"] != 1


async def test_a_process_still_forking_at_the_kill_is_gone_for_the_next_run(clients: tuple[Target, Target]) -> None:
    """A slow forker, under the pids limit, killed by the time limit mid-fork: the container is renewed, and the
    next run sees none of it."""
    alice, bob = clients
    forker = "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(1000)\n    time.sleep(0.05)\n"
    t, host = await hosted_run(alice, forker, run_timeout_s=1, pids=128)
    assert t.verdict == "timeout"
    after, after_host = await hosted_run(bob, LOOK)
    assert len(last_json(after)["processes"]) <= 3, last_json(after)["processes"]
    assert (after_host == host) is BOXES


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("memory limit", "x = []\nwhile True:\n    x.append(bytearray(1 << 20))\n"),
        ("pids limit", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"),
    ],
)
async def test_a_container_whose_run_met_a_limit_is_retired(
    clients: tuple[Target, Target], name: str, source: str
) -> None:
    alice, bob = clients
    t, host = await hosted_run(alice, source, run_timeout_s=5, pids=64)
    assert t.verdict in ("memory_limit", "timeout", "runtime_error"), (name, t.frames)
    after, after_host = await hosted_run(bob, "print('fresh')")
    assert after.verdict == "ok" and after_host != host, f"{name}: the container was used again"


async def test_a_run_with_other_limits_is_hosted_and_the_container_gets_the_pool_limits_back(
    clients: tuple[Target, Target],
) -> None:
    alice, bob = clients
    first, host = await hosted_run(alice, "print('big')", memory_mb=512, run_timeout_s=10)
    second, second_host = await hosted_run(bob, "print(open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read())")
    assert first.verdict == "ok", first.frames
    if BOXES:
        # the same container, `docker update`d to 512 MB for the first run and back to the pool's 256 MB
        assert second_host == host and second.verdict == "ok", second.frames
        assert f"{256 << 20}" in second.text(), second.text()
    else:
        assert second_host != host, "a container per run"
