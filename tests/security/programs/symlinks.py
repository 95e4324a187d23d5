"""Plant every symlink and hardlink trick a host-side copy or cleanup could trip over, then report what
the sandbox itself sees through them. argv[1] is a path that exists only on the host."""

import errno
import json
import os
import sys

host_path = sys.argv[1]
links = {
    "main.py": "/etc/shadow",  # the source file itself, swapped for a link
    "output.txt": "/var/run/docker.sock",
    "host-file": host_path,
    "agent-root": "/proc/1/root",
    "agent-stdout": "/proc/1/fd/1",
    "loop": "loop",
    "up": "../../../../../../",
}
report = {"links": {}, "hardlinks": {}}
os.remove("/work/main.py")
for name, destination in links.items():
    os.symlink(destination, f"/work/{name}")
    try:
        with open(f"/work/{name}", "rb") as f:
            report["links"][name] = f"read {len(f.read(64))} bytes"
    except OSError as exc:
        report["links"][name] = errno.errorcode[exc.errno]
for name, source in {"passwd": "/etc/passwd", "agent": "/opt/padbox/agent.py"}.items():
    try:
        os.link(source, f"/work/{name}")
        report["hardlinks"][name] = "linked"
    except OSError as exc:
        report["hardlinks"][name] = errno.errorcode[exc.errno]
os.symlink("/", "/tmp/root-link")
print(json.dumps(report))
