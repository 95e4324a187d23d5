"""The two baselines that are plain processes: the program on the host, and a cold `docker run` per run.

Both are timed the same way: from just before the process is created to its first stdout byte.
"""

from __future__ import annotations

import asyncio
import time

from .docker_engine import HELLO, HELLO_ARGV

# Debian's interpreter: the same build the runner image carries (a pyenv build starts ~6x slower
# and would make padbox look better than it is).
HOST_PYTHON = "/usr/bin/python3"
IMAGE = "padbox-runner:latest"


def bare_argv() -> list[str]:
    return [HOST_PYTHON, "-c", HELLO]


def cold_container_argv(runtime: str = "") -> list[str]:
    """The compilebox approach: a new container per run. The image's CMD is padbox's agent, so the command is given."""
    runtime_flag = [f"--runtime={runtime}"] if runtime else []
    return ["docker", "run", "--rm", "-i", "--network", "none", *runtime_flag, IMAGE, *HELLO_ARGV]


async def first_byte(argv: list[str]) -> float:
    """Seconds from creating the process to its first stdout byte; the process is then waited for."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    first = await process.stdout.read(1)
    elapsed = time.perf_counter() - started
    _, stderr = await process.communicate()
    if not first or process.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({process.returncode}): {stderr.decode(errors='replace').strip()}")
    return elapsed
