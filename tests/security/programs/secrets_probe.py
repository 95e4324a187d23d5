"""Gather everything the sandbox can read that a secret could hide in: its environment, every process's
environment and command line, Docker's and containerd's sockets, and what writes to /sys and /proc do."""

import errno
import json
import os


def read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as exc:
        return errno.errorcode[exc.errno]


def write(path: str, value: str = "1") -> str:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        return errno.errorcode[exc.errno]
    return "written"


processes = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    processes[pid] = {"environ": read(f"/proc/{pid}/environ"), "cmdline": read(f"/proc/{pid}/cmdline")}
sockets = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/docker"]
print(
    json.dumps(
        {
            "environment": dict(os.environ),
            "self_environ": read("/proc/self/environ"),
            "processes": processes,
            "agent_environ": read("/proc/1/environ"),
            "sockets": {path: os.path.exists(path) for path in sockets},
            "writes": {
                path: write(path)
                for path in [
                    "/sys/kernel/uevent_helper",
                    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                    "/sys/class/net/lo/mtu",
                    "/proc/sys/kernel/hostname",
                    "/proc/sys/vm/drop_caches",
                    "/proc/sys/kernel/core_pattern",
                    "/proc/sysrq-trigger",
                ]
            },
            "oom_exempt": write(
                "/proc/self/oom_score_adj", "-1000"
            ),  # a program may not shield itself from the OOM killer
            "oom_score_adj": {
                "program": read("/proc/self/oom_score_adj").strip(),
                "agent": read("/proc/1/oom_score_adj").strip(),
            },
        }
    )
)
