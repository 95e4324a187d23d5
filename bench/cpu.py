"""CPU time spent by the processes a run goes through, read from /proc.

On a 2-core machine a container's life is mostly CPU (dockerd, containerd, runc, the shim, the
programs), so runs per second are decided by CPU per run once the machine is busy. Measuring
who spends it turns a missed target into a finding instead of a guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
MACHINE = "machine"  # all CPUs, every process: other people's work on a shared machine included


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def machine_busy_s() -> float:
    """CPU seconds all CPUs spent on anything but idle and I/O wait since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS_PER_S


def find_pid(command: str) -> int | None:
    """The oldest process with this command name (the daemon, not a short-lived helper)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    found.append(int(entry.name))
            except OSError:
                continue
    return min(found) if found else None


class CpuMeter:
    """Snapshots of named processes' CPU time, plus the whole machine's."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)

    def snapshot(self) -> dict[str, float]:
        taken = {MACHINE: machine_busy_s()}
        for name, pid in self.pids.items():
            try:
                taken[name] = process_cpu_s(pid)
            except OSError:  # the process is gone (a restarted daemon): no figure rather than a wrong one
                continue
        return taken

    @staticmethod
    def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
        return {name: after[name] - before[name] for name in before if name in after}


def docker_daemons() -> dict[str, int]:
    pids = {name: find_pid(name) for name in ("dockerd", "containerd")}
    return {name: pid for name, pid in pids.items() if pid is not None}
