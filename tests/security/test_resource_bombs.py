"""Resource bombs: processes, threads, memory, CPU, time and output, each pushed past its limit."""

from __future__ import annotations

import re

import pytest

from padbox.client import Transcript
from tests.security.target import GVISOR, SLACK_S, Target, program, stage_wall_s, swap_used_kb

pytestmark = pytest.mark.docker

BOMB_LIMITS = {"run_timeout_s": 3, "pids": 32, "memory_mb": 128}


def ending(t: Transcript) -> str:
    """The run's verdict, or the code of the error that ended it instead."""
    return t.verdict if t.verdict is not None else str(t.error["code"])


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("bash", ":(){ :|:& };:\n"),
        ("c", "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n"),
        ("python", program("fork_counter.py")),
    ],
    ids=["bash", "c", "python"],
)
async def test_fork_bomb_is_stopped_at_the_pids_limit(target: Target, language: str, source: str) -> None:
    t = await target.run(language, source, limits=BOMB_LIMITS)
    assert stage_wall_s(t) < BOMB_LIMITS["run_timeout_s"] + SLACK_S, "ended at the time limit at the latest"
    # bash's bomb returns at once (ok); the others spin until the watchdog (timeout), unless the kernel's
    # memory for thousands of failed forks ends them first (memory_limit). Under gVisor the sandbox is also
    # ended whole when its host threads reach the limit: the server sees its sandbox end without an exit
    # report, which it cannot tell from a sandbox lost (sandbox_lost, docs/reliability.md).
    assert ending(t) in ("ok", "timeout", "memory_limit") + (("sandbox_lost",) if GVISOR else ())
    if language == "python" and "forked" in t.text():
        forked = int(re.search(r"forked: (\d+)", t.text()).group(1))  # type: ignore[union-attr]
        assert GVISOR or forked < BOMB_LIMITS["pids"], "the pids limit counts every process in the sandbox"
    await target.survived(t)


async def test_thread_bomb_is_stopped_at_the_pids_limit(target: Target) -> None:
    t = await target.run("c", program("thread_bomb.c"), limits=BOMB_LIMITS)
    assert ending(t) in (("timeout", "sandbox_lost") if GVISOR else ("timeout",))
    assert stage_wall_s(t) < BOMB_LIMITS["run_timeout_s"] + SLACK_S
    if not GVISOR:
        threads = int(re.search(r"threads: (\d+)", t.text()).group(1))  # type: ignore[union-attr]
        assert 0 < threads < BOMB_LIMITS["pids"], "threads count against the pids limit"
    await target.survived(t)


@pytest.mark.parametrize(
    ("language", "source"),
    [
        ("python", "blocks = []\nwhile True:\n    blocks.append(bytearray(8 << 20))\n"),
        ("c", program("memory_bomb.c")),
        ("python", program("memory_bomb_forked.py")),
    ],
    ids=["python", "c", "forked"],
)
async def test_memory_bomb_is_memory_limit_without_swap(target: Target, language: str, source: str) -> None:
    swap_before = swap_used_kb()
    t = await target.run(language, source, limits={"memory_mb": 128, "run_timeout_s": 10, "pids": 32})
    assert t.verdict == "memory_limit", t.frames
    assert stage_wall_s(t) < 10, "the kernel stops it, not the watchdog"
    peak = t.exits()["run"]["memory_bytes"]
    assert peak is None or peak <= 128 << 20
    assert swap_used_kb() - swap_before < 16 * 1024, "the sandbox never swaps"
    await target.survived(t)


@pytest.mark.parametrize(
    ("language", "source", "limits"),
    [
        pytest.param("python", "while True: pass\n", {"cpu_time_s": 1, "run_timeout_s": 20}, id="cpu limit"),
        pytest.param(
            "python",
            "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True: pass\n",
            {"cpu_time_s": 1, "run_timeout_s": 20},
            id="cpu limit, SIGXCPU ignored",
        ),
        pytest.param(
            "python",
            "import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n        while True: pass\ntime.sleep(600)\n",
            {"run_timeout_s": 2},
            id="wall limit, spinning children",
        ),
        pytest.param(
            "bash",
            "trap '' TERM INT HUP QUIT\nsleep infinity\n",
            {"run_timeout_s": 2},
            id="sleep forever, signals ignored",
        ),
        pytest.param("python", "import sys\nsys.stdin.read()\n", {"run_timeout_s": 2}, id="blocked on stdin"),
    ],
)
async def test_programs_that_never_end_time_out(
    target: Target, language: str, source: str, limits: dict[str, float]
) -> None:
    t = await target.run(language, source, limits=limits)
    assert t.verdict == "timeout"
    if "cpu_time_s" in limits:  # stopped by the CPU limit, however busy the machine: well before the wall limit
        assert t.exits()["run"]["signal"] in ("SIGXCPU", "SIGKILL")
        assert stage_wall_s(t) < limits["run_timeout_s"]
    else:
        assert stage_wall_s(t) < limits["run_timeout_s"] + SLACK_S, "ended late"
    await target.survived(t)


@pytest.mark.parametrize(
    ("source", "tty"),
    [("yes", False), ("yes >&2 & yes", False), ("yes", True)],
    ids=["stdout", "stdout and stderr", "terminal"],
)
async def test_output_flood_stops_at_the_output_cap(target: Target, source: str, tty: bool) -> None:
    t = await target.run("bash", source, tty=tty, limits={"output_kb": 64, "run_timeout_s": 10})
    assert t.verdict == "output_limit"
    delivered = len((t.text("stdout") + t.text("stderr")).encode())
    assert 0 < delivered <= 64 * 1024
    await target.survived(t)


async def test_a_100_mb_line_without_a_newline_is_cut_at_the_largest_cap(target: Target) -> None:
    source = "head -c 100000000 /dev/zero | tr '\\0' x\n"
    t = await target.run("bash", source, limits={"output_kb": 65536, "run_timeout_s": 20}, timeout=90)
    assert t.verdict == "output_limit"
    text = t.text()
    assert len(text) == 65536 * 1024 and set(text) == {"x"}, "exactly the cap arrives, no newline needed"
    await target.survived(t)  # the server's peak memory stayed far below the line's size
