"""The red team's target: a real padbox server (its own instance, no warm pool, an API token and a
planted secret in its environment) and the one check every attack ends with, `survived`.

No warm pool, so "no labelled container remains" is exact: after any attack this server has no
container at all. Server memory is judged by its peak resident size (VmHWM), so a spike that came
and went during an attack still counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

from padbox.client import Transcript, run_program
from tests.conftest import ServerProcess, expected_isolation
from tests.eventually import eventually

PROGRAMS = Path(__file__).parent / "programs"
RUNTIME = os.environ.get("PADBOX_RUNTIME", "") or "runc"
GVISOR = RUNTIME == "runsc"
# Whether each run is in a box of its own inside a container that hosts many.
BOXES = expected_isolation() == "namespace"
# How far the server's peak resident memory may rise above what it was at start-up, whatever the attack.
SERVER_MEMORY_HEADROOM = 128 * 1024 * 1024
# How long after its limit a stage may take to end (the agent's kill, the report, a busy CI machine).
SLACK_S = 3.0
NORMAL_RUN = "print('still standing')"


def program(name: str) -> str:
    return (PROGRAMS / name).read_text()


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def swap_used_kb() -> int:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return int(info["SwapTotal"].split()[0]) - int(info["SwapFree"].split()[0])


def host_processes_matching(text: str) -> list[str]:
    """Command lines of host processes containing text (a runc sandbox's processes are host processes)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -eo" not in line]


def docker_inspect(container: str, size: bool = False) -> dict[str, Any]:
    argv = ["docker", "container", "inspect", *(["--size"] if size else []), container]
    return dict(json.loads(subprocess.run(argv, capture_output=True, check=True, text=True).stdout)[0])


class Target:
    """A padbox server under attack."""

    def __init__(self, server: ServerProcess, token: str, canary: str) -> None:
        self.server = server
        self.token = token
        self.canary = canary  # a secret in the server's environment that no sandbox may ever see
        self.baseline_kb = memory_kb(server.process.pid, "VmRSS")

    @property
    def ws_url(self) -> str:
        return f"{self.server.ws_url}?token={self.token}"

    async def run(
        self, language: str, source: str, *inputs: dict[str, Any], timeout: float = 60, **run: Any
    ) -> Transcript:
        """One run through the real WebSocket, read to the close."""
        return await run_program(self.ws_url, *inputs, timeout=timeout, language=language, source=source, **run)

    async def containers_gone(self, within: float = 10) -> list[str]:
        """This server's containers that are still there after `within` seconds (none, when all is well)."""
        with contextlib.suppress(AssertionError):  # the caller names what is left
            await eventually(lambda: not self.server.containers(), within, "the containers gone")
        return self.server.containers()

    async def survived(self, *attacks: Transcript) -> None:
        """What every attack must leave behind: no container of its sessions, a server that still runs
        a normal program correctly right after, and server memory that stayed bounded throughout."""
        left = await self.containers_gone()
        ids = [m["id"] for t in attacks for m in t.of("started")]
        assert not left, f"containers outlived the attack's sessions {ids}: {left}"
        normal = await self.run("python", NORMAL_RUN, timeout=60)
        assert normal.text() == "still standing\n" and normal.verdict == "ok", f"a normal run failed: {normal.frames}"
        assert not await self.containers_gone(), "the normal run's container remained"
        assert self.server.process.poll() is None, "the server died"
        grown_kb = memory_kb(self.server.process.pid, "VmHWM") - self.baseline_kb
        assert grown_kb * 1024 < SERVER_MEMORY_HEADROOM, f"server peak memory rose by {grown_kb // 1024} MB"


def new_secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def stage_wall_s(t: Transcript, stage: str = "run") -> float:
    """Seconds from a stage's start to its exit (or to the error that ended it), as the client saw them."""
    began = next(f.at for f in t.frames if f.type == "stage" and f.message["stage"] == stage)
    ended = next(f.at for f in t.frames if f.type == "error" or (f.type == "exit" and f.message["stage"] == stage))
    return ended - began


def report(t: Transcript) -> dict[str, Any]:
    """The JSON report a probe program printed as its first stdout line."""
    text = t.text()
    assert text.strip(), f"the probe printed nothing: {t.frames}"
    return dict(json.loads(text.splitlines()[0]))
