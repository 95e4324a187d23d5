"""Try to write everywhere outside the sandbox's own tmpfs, and list every writable mount."""

import errno
import json


def attempt(path: str) -> str:
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        return errno.errorcode[exc.errno]
    return "written"


targets = [
    "/new-file",
    "/etc/new-file",
    "/usr/bin/new-file",
    "/opt/padbox/new-file",
    "/var/tmp/new-file",
    "/home/new-file",
    "/etc/passwd",
    "/opt/padbox/agent.py",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
]
mounts = []
with open("/proc/self/mountinfo") as f:
    for line in f:
        fields = line.split()
        separator = fields.index("-")
        options, fstype = fields[5], fields[separator + 1]
        mounts.append({"point": fields[4], "options": options.split(","), "type": fstype})
print(json.dumps({"writes": {path: attempt(path) for path in targets}, "mounts": mounts}))
