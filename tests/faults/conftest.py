"""The fault suite's tools: faults done to real parts (a real server process, the real Docker engine and
image), and the clock that says how long padbox took to notice each one and to serve again.

Every fault test checks four things: what the clients are told, what /readyz says, that a normal run
succeeds afterwards without anyone's help, and that no container is left behind."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from padbox.client import Client, Transcript, connect, run_program
from tests.conftest import REPO, ServerProcess, docker_containers, start_server

SILENT = "print('up', flush=True)\nimport time\ntime.sleep(60)\n"  # a program that does nothing wrong
FIGURES: list[tuple[str, str, float]] = []  # (fault, what was measured, seconds), for the summary


def record(fault: str, measure: str, seconds: float) -> None:
    FIGURES.append((fault, measure, seconds))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault suite: time to detect and to recover")
    for fault, measure, seconds in FIGURES:
        terminalreporter.write_line(f"{fault:<48} {measure:<44} {seconds:6.2f} s")


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=60).stdout.strip()


def running(instance: str, origin: str | None = None) -> list[str]:
    """IDs of an instance's running containers (of one origin: `pool` or `cold`)."""
    only = ["--filter", f"label=padbox.origin={origin}"] if origin else []
    return docker("ps", "-q", "--filter", f"label=padbox.instance={instance}", *only).split()


def readyz(url: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{url}/readyz", timeout=10)
    return answer.status_code, answer.json()


async def start_silent_run(server: ServerProcess) -> tuple[Client, str]:
    """A run of a program that prints once and sleeps; its client and its container's id."""
    ws = await connect(server.ws_url).__aenter__()
    client = Client(ws)
    await client.run(language="python", source=SILENT, limits={"run_timeout_s": 120})
    await client.until_output("up", timeout=60)
    run_id = client.transcript.run_id
    assert run_id is not None
    (container,) = server.containers(run_id)
    return client, container


async def a_normal_run_works(server: ServerProcess) -> float:
    """A run after the fault succeeds, on its own; how long it took."""
    start = time.monotonic()
    t = await run_program(server.ws_url, language="python", source="print('fine')", timeout=90)
    assert (t.verdict, t.text()) == ("ok", "fine\n"), t.frames
    return time.monotonic() - start


def assert_lost(t: Transcript) -> None:
    """The clients are told the sandbox was lost: an `error` frame, close 1011, and no verdict."""
    assert t.error["code"] == "sandbox_lost", t.frames
    assert "it has no verdict" in t.error["message"]
    assert not t.of("exit"), f"a lost sandbox gives no verdict: {t.frames}"
    assert t.close_code == 1011


def nothing_left(server: ServerProcess, keep: set[str] | None = None) -> Callable[[], bool]:
    """No container of the server's but those it should have (its running warm pool)."""

    def check() -> bool:
        return set(docker_containers(server.instance)) <= (
            keep if keep is not None else set(running(server.instance, "pool"))
        )

    return check


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own with no warm pool (each run's container is its own, found by its label)."""
    instance = f"pytest-faults-{time.monotonic_ns()}"
    srv = start_server(
        tmp_path_factory.mktemp("faults"), instance, PADBOX_POOL_SIZE="0", PADBOX_SESSIONS_PER_MINUTE="100000"
    )
    yield srv
    srv.stop()
    assert docker_containers(instance) == [], "containers outlived the fault suite's server"


# --- the Docker engine itself, stopped and started as runner-image/ensure-docker.sh does ------------------------

ENSURE_DOCKER = REPO / "runner-image" / "ensure-docker.sh"


def alive(pid: int) -> bool:
    """The process exists and has not exited (pid 1 here may never reap an exited dockerd: a zombie is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def engine_pid() -> int | None:
    """The live dockerd's pid, if there is one."""
    found = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    return next((int(pid) for pid in found if alive(int(pid))), None)


def stop_engine_begin() -> int:
    """SIGTERM to dockerd (there is no systemd here: ensure-docker.sh starts it with setsid nohup)."""
    pid = engine_pid()
    assert pid is not None, "no dockerd to stop"
    subprocess.run(["kill", "-TERM", str(pid)], check=True)
    return pid


def engine_gone(pid: int) -> bool:
    return not alive(pid)


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


def start_engine() -> None:
    """Start dockerd the project's way (ensure-docker.sh) and wait until it answers; a dockerd still
    stopping is waited for first, since the script would take it for one starting."""
    deadline = time.monotonic() + 120
    while not engine_answers():
        if engine_pid() is None:
            subprocess.run(["bash", str(ENSURE_DOCKER)], check=True, timeout=120, capture_output=True)
        elif time.monotonic() > deadline:
            raise RuntimeError("dockerd neither answers nor stops")
        else:
            time.sleep(1)  # a poll, not a wait before an assertion: sync code, dockerd still stopping


@pytest.fixture
def engine_left_running() -> Iterator[None]:
    """Whatever a test did to the engine, it runs again afterwards, for every later test."""
    try:
        yield
    finally:
        start_engine()
