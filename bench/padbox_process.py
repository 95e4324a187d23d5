"""The padbox server under measurement: its own process, started as `make run` starts it, stopped with SIGTERM.

A fresh server per section keeps the sections independent: one section's container removals,
heap growth or drained pool never show up in the next one's numbers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
INSTANCE = "bench"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServerConfig:
    """The settings a bench server runs with; recorded in results.json next to the numbers."""

    pool_size: int = 8  # at least the highest concurrency measured, so every worker can find a warm sandbox
    max_sessions: int = 250  # room for 200 idle sessions plus the pool
    queue_limit: int = 256
    max_output_kb: int = 131072  # the throughput run asks for more than the default cap
    runtime: str = ""  # "runsc" for the gVisor measurement
    isolation: str = "auto"  # PADBOX_ISOLATION: "namespace", "container" or "auto"
    instance: str = INSTANCE
    per_client_sessions: int = 0  # 0: as many as max_sessions

    def env(self, port: int) -> dict[str, str]:
        return {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PADBOX_INSTANCE": self.instance,
            "PADBOX_POOL_SIZE": str(self.pool_size),
            "PADBOX_MAX_SESSIONS": str(self.max_sessions),
            "PADBOX_QUEUE_LIMIT": str(self.queue_limit),
            "PADBOX_MAX_OUTPUT_KB": str(self.max_output_kb),
            "PADBOX_RUNTIME": self.runtime,
            "PADBOX_ISOLATION": self.isolation,
            # Every bench client is 127.0.0.1: the per-client caps would otherwise measure themselves.
            "PADBOX_MAX_SESSIONS_PER_CLIENT": str(self.per_client_sessions or self.max_sessions),
            "PADBOX_SESSIONS_PER_MINUTE": "1000000",
        }

    def recorded(self) -> dict[str, str]:
        """The settings as they appear in results.json (the port is an accident of the run)."""
        return {k: v for k, v in self.env(0).items() if k.startswith("PADBOX_")}


class ServerFailed(RuntimeError):
    """The server would not start or died; the message names the cause, the log's tail goes to stderr."""

    def __init__(self, what: str, log_tail: str) -> None:
        errors = [line for line in log_tail.splitlines() if "Error" in line or "error" in line]
        super().__init__(f"{what}: {errors[-1].strip()}" if errors else what)
        self.log_tail = log_tail


@dataclass(frozen=True)
class Memory:
    rss_bytes: int
    peak_rss_bytes: int


class PadboxProcess:
    def __init__(self, process: asyncio.subprocess.Process, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def memory(self) -> Memory:
        """The server's resident memory now and at its peak, from /proc (what the kernel charges it)."""
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) * 1024
        return Memory(fields["VmRSS"], fields["VmHWM"])

    def alive(self) -> None:
        if self.process.returncode is not None:
            raise ServerFailed(f"the padbox server exited with status {self.process.returncode}", self.log_tail())


def _listening_socket() -> socket.socket:
    """A loopback socket on a port the kernel chose, listening. The server inherits it (PADBOX_LISTEN_FD), so
    the port is held from the bind until the server serves it: nothing else can take it in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@asynccontextmanager
async def padbox_server(config: ServerConfig) -> AsyncIterator[PadboxProcess]:
    """A running server with these settings; SIGTERM (a clean shutdown) on the way out, whatever happened."""
    log_dir = Path(tempfile.mkdtemp(prefix="padbox-bench-"))
    log_path = log_dir / "server.log"
    with _listening_socket() as sock, log_path.open("wb") as log_file:  # the server holds the socket from here on
        port = sock.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "padbox",
            cwd=REPO,
            # The pads' database goes with the log: a bench server never touches the operator's pads.
            env={
                **os.environ,
                "PADBOX_DATA_DIR": str(log_dir),
                **config.env(port),
                "PADBOX_LISTEN_FD": str(sock.fileno()),
            },
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    server = PadboxProcess(process, port, log_path)
    try:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        while not await asyncio.to_thread(_healthy, port):
            server.alive()
            if asyncio.get_running_loop().time() > deadline:
                raise ServerFailed(f"the server did not answer within {START_TIMEOUT_S:.0f} s", server.log_tail())
            await asyncio.sleep(0.1)
        yield server
    except ServerFailed as failed:
        print(f"bench: the padbox server's log ends:\n{failed.log_tail}", file=sys.stderr)
        raise
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                process.kill()
                await process.wait()
