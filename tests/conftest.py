"""Shared fixtures. Integration tests use a real server process, a real Docker engine and the real
runner image; when Docker is missing they fail loudly, never skip."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
INSTANCE = f"pytest-{os.getpid()}"


def instance_name(name: str) -> str:
    """A server instance name of this test run's own: a server reaps its instance's containers at start-up,
    so two test runs on one machine (developers, CI) must never share one."""
    return f"{name}-{os.getpid()}"


def docker_containers(instance: str, session: str | None = None) -> list[str]:
    """IDs of containers (running or not) labelled for a padbox instance, or for one session of it."""
    label = f"label=padbox.session={session}" if session else "label=padbox.session"
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=padbox.instance={instance}", "--filter", label],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def created_since(instance: str, since: float) -> int:
    """How many containers Docker created for waiting runs of an instance since a time (from Docker's
    own event log). Warm-pool refills are left out: they are made ahead of time, for no run."""
    out = subprocess.run(
        [
            "docker",
            "events",
            "--since",
            f"{since:.3f}",
            "--until",
            f"{time.time():.3f}",
            "--filter",
            "type=container",
            "--filter",
            "event=create",
            "--filter",
            f"label=padbox.instance={instance}",
            "--filter",
            "label=padbox.origin=cold",
            "--format",
            "{{.ID}}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return len(out.stdout.split())


def expected_isolation() -> str:
    """The isolation mode a test server runs in (PADBOX_ISOLATION as the server reads it: `auto` means a box per
    run in warm containers under runc, and a container per run under gVisor)."""
    mode = os.environ.get("PADBOX_ISOLATION", "auto")
    if mode == "auto":
        return "container" if os.environ.get("PADBOX_RUNTIME") == "runsc" else "namespace"
    return mode


# Put before a Python program: its first line of output names the container hosting the run (its host name, which a
# box inherits). In namespace mode a container hosts run after run, so a run's id does not name its container.
PRINT_HOST = "import socket; print(socket.gethostname(), flush=True)\n"


def run_processes(host: str) -> list[str] | None:
    """The command lines of what a run left in its hosting container: every process but the agent and the next
    box's keeper (a fork of the agent, with its command line). None when the container itself is gone."""
    done = subprocess.run(["docker", "top", host, "-eo", "pid,args"], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        return None
    commands = [line.split(None, 1)[-1] for line in done.stdout.splitlines()[1:]]
    return [command for command in commands if "/opt/padbox/agent.py" not in command]


def sandbox_gone(host: str) -> bool:
    """The run's sandbox is gone: its container was removed (a container per run, or a retired host), or nothing of
    the run is left in it (a box destroyed, the container renewed for the next run)."""
    return not run_processes(host)


def require_docker() -> None:
    try:
        subprocess.run(["docker", "info"], capture_output=True, check=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"integration tests need a running Docker engine (run `make test`, which starts one): {exc}")
    image = os.environ.get("PADBOX_IMAGE", "padbox-runner:latest")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.fail(f"integration tests need the runner image {image} (run `make test`, which builds it)")


def require_lsp_image() -> None:
    """The language servers' image, for the language-help tests (built by `make image`, like the runner's)."""
    image = os.environ.get("PADBOX_LSP_IMAGE", "padbox-lsp:latest")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.fail(f"language-help tests need the image {image} (run `make image`, or runner-image/lsp/build.sh)")


def free_port() -> int:
    """A port free a moment ago, released again: another process may take it before it is used. Only for a
    server that must bind HOST:PORT itself (tests/test_packaging.py); the others get a `listening_socket`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_socket() -> socket.socket:
    """A loopback socket on a port the kernel chose, already listening, for a server to inherit.

    The port is held from the bind on: the server is started with the socket itself (PADBOX_LISTEN_FD, the
    descriptor passed with `pass_fds`), so the port is never free between being chosen and being served, and no
    other test or process can take it in between. A request made before the server accepts waits in the
    backlog instead of being refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@dataclass
class ServerProcess:
    """A padbox server running as its own process, as `make run` starts it."""

    process: subprocess.Popen[bytes]
    port: int
    instance: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def containers(self, session: str | None = None) -> list[str]:
        """This server's containers (warm pool included), or one session's."""
        return docker_containers(self.instance, session)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def metric(server: ServerProcess, name: str) -> float:
    """One of the server's own gauges or counters (without labels), from /metrics."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).raise_for_status().text
    (line,) = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


def start_server(tmp_dir: Path, instance: str, *, engine_required: bool = True, **env: str) -> ServerProcess:
    """A server process, once it answers /healthz. `engine_required=False`: also with no Docker engine (the
    fault suite starts one so, to see it become ready by itself)."""
    if engine_required:
        require_docker()
    with listening_socket() as sock:  # the server holds it from here on; this process's copy is closed
        port = sock.getsockname()[1]
        log_path = tmp_dir / f"server-{instance}-{port}.log"
        # The pads' database goes in the test's own directory unless the test names one (a restart reuses it).
        data_dir = str(tmp_dir / f"data-{instance}-{port}")
        full_env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),  # still named: the server's links and log show it
            "PADBOX_LISTEN_FD": str(sock.fileno()),
            "PADBOX_INSTANCE": instance,
            "PADBOX_DATA_DIR": data_dir,
            **env,
        }
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "padbox"],
                cwd=REPO,
                env=full_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
            )
    server = ServerProcess(process, port, instance, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited at start-up:\n{server.log()}")
        try:
            # The request waits in the socket's backlog until the server serves; a server that dies closes the
            # socket, which fails the request at once.
            if httpx.get(f"{server.url}/healthz", timeout=max(1.0, deadline - time.monotonic())).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not answer within 60 s:\n{server.log()}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that stop or restart the Docker engine run after all others: every other test's containers and
    servers would die with it."""
    items.sort(key=lambda item: item.get_closest_marker("engine_restart") is not None)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The shared test server (default settings)."""
    # The whole suite is one client (127.0.0.1): lift the per-minute cap so a long suite is never refused.
    srv = start_server(tmp_path_factory.mktemp("server"), INSTANCE, PADBOX_SESSIONS_PER_MINUTE="100000")
    yield srv
    srv.stop()
    leftovers = docker_containers(INSTANCE)
    assert not leftovers, f"containers outlived their sessions: {leftovers}"


@pytest.fixture(scope="session")
def server_url(server: ServerProcess) -> str:
    return server.url


@pytest.fixture(scope="session")
def ws_url(server: ServerProcess) -> str:
    return server.ws_url


def languages(url: str) -> list[dict[str, object]]:
    return list(httpx.get(f"{url}/api/v1/languages", timeout=10).raise_for_status().json())
