"""A finished stage's account for its EXIT frame: how it ended, what it used, whether the OOM killer struck.

exit_report is pure, so every way of ending is tested without running anything; only read_oom_kills
touches the kernel.
"""

from __future__ import annotations

import os
import resource
import signal

TYPE_CHECKING = False  # typing costs every sandbox's start; only the type checker needs it
if TYPE_CHECKING:
    from typing import Any

# Where the kernel counts the OOM kills in this container's memory cgroup: v1, then v2.
OOM_COUNTERS = (
    ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ("/sys/fs/cgroup/memory.events", "oom_kill"),
)


# Where the kernel counts the forks refused at the container's pids limit: v1, then v2.
PIDS_COUNTERS = (("/sys/fs/cgroup/pids/pids.events", "max"), ("/sys/fs/cgroup/pids.events", "max"))


def read_oom_kills() -> int | None:
    """The kernel's count of OOM kills in this container's memory cgroup, if visible."""
    return _read_counter(OOM_COUNTERS)


def read_pids_refusals() -> int | None:
    """The kernel's count of forks refused at this container's pids limit, if visible."""
    return _read_counter(PIDS_COUNTERS)


def _read_counter(places: tuple[tuple[str, str], ...]) -> int | None:
    for path, key in places:
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def exit_report(
    status: int,
    usage: resource.struct_rusage | None,
    wall_s: float,
    oom_before: int | None,
    oom_after: int | None,
) -> dict[str, Any]:
    """The EXIT frame's JSON: {"code", "signal", "wall_ms", "cpu_ms", "memory_bytes", "oom"}.

    status is a wait status; usage is the process's own rusage (its children were reaped by the agent,
    so they are not in it). "oom" is None when the cgroup's counter is not visible."""
    code = os.waitstatus_to_exitcode(status)
    return {
        "code": code if code >= 0 else None,
        "signal": _signal_name(-code) if code < 0 else None,
        "wall_ms": round(wall_s * 1000),
        "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000) if usage else None,
        "memory_bytes": usage.ru_maxrss * 1024 if usage else None,  # ru_maxrss is in KiB on Linux
        "oom": None if oom_after is None or oom_before is None else oom_after > oom_before,
    }


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name of its own
        return f"SIG{number}"
