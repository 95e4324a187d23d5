"""The machine a run measured: numbers mean nothing without it, so it goes next to every table."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .docker_engine import Engine
from .processes import HOST_PYTHON


def _proc_field(path: str, name: str) -> str:
    for line in Path(path).read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return "unknown"


async def describe(engine: Engine) -> dict[str, Any]:
    info = await engine.info()
    version = await engine.version()
    python = subprocess.run([HOST_PYTHON, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
        "memory_gb": round(int(_proc_field("/proc/meminfo", "MemTotal").split()[0]) / 1024**2, 1),
        "kernel": platform.release(),
        "os": info.get("OperatingSystem", "unknown"),
        "docker": version.get("Version", "unknown"),
        "storage_driver": info.get("Driver", "unknown"),
        "cgroup_version": info.get("CgroupVersion", "unknown"),
        "runtimes": sorted(info.get("Runtimes", {})),
        "host_python": f"{HOST_PYTHON} ({python})",
    }


def revision(repo: Path) -> str:
    """The padbox code that was measured: the commit, and whether the server or image had uncommitted changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "server", "runner-image"], cwd=repo, capture_output=True, text=True
    )
    if head.returncode != 0:
        return "unknown"
    changes = " with uncommitted changes to server/ or runner-image/" if dirty.stdout.strip() else ""
    return head.stdout.strip() + changes


def one_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gb']} GB RAM, "
        f"Linux {machine['kernel']}, {machine['os']}, Docker {machine['docker']} "
        f"({machine['storage_driver']}, cgroup v{machine['cgroup_version']}, runtimes: "
        f"{', '.join(machine['runtimes'])}), {machine['host_python']}"
    )
