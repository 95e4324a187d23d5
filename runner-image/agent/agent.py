"""The agent: the one long-lived process in a padbox sandbox, talking to the server over the
container's attached stdin/stdout (framing in padbox_agent/wire.py, the loop in padbox_agent/loop.py).

Why an agent rather than one `docker exec` per step: an exec costs a Docker round trip (~50 ms) for
every file copy, stage and signal, and exec processes cannot be signalled or measured precisely. The
agent starts each stage's process itself (pipes or a pseudo-terminal), relays its output as it is
produced, applies backpressure when the server reads slowly, and reports exit status, CPU time, peak
memory and the kernel's OOM kills.

It runs as the same unprivileged user as the program, as the container's pid 1 (no docker-init), so it
reaps orphans itself and cannot be signalled from inside. It makes itself non-dumpable so the program
can neither read its /proc entries nor write to the container's stdout (forging frames) through
/proc/1/fd, and after every stage it kills every process in the sandbox, so nothing outlives a stage.

This file only launches: started as `python3 -E -S /opt/padbox/agent.py`, its own folder is
sys.path[0], so padbox_agent imports and the work directory (the user's files) is never on the path.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

from padbox_agent.loop import serve
from padbox_agent.spawn import WORKDIR, set_dumpable

TYPE_CHECKING = False  # typing costs every sandbox's start; only the type checker needs it
if TYPE_CHECKING:
    from padbox_agent.loop import MakeBox

BOXES_FLAG = "--boxes="  # --boxes=TMPFS_MB,TMPFS_INODES: every run in a box of its own, with tmpfs of that size


def kill_everything(_group: int | None) -> None:
    """SIGKILL every process this user may signal except the agent itself (kill(-1) spares the caller and
    pid 1, which the agent is): whatever a stage started, in any process group or session."""
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise


def box_maker(args: list[str]) -> MakeBox | None:
    """What makes each run's box, when the server asked for boxes; None for one run per container."""
    sizes = [a.removeprefix(BOXES_FLAG) for a in args if a.startswith(BOXES_FLAG)]
    if not sizes:
        return None
    from padbox_agent.box import Box, prepare
    from padbox_agent.confine import load_library

    tmpfs_mb, inodes = (int(n) for n in sizes[-1].split(","))

    def make() -> Box:
        load_library()  # in the agent, before any fork: no program's start pays for the import
        return prepare(tmpfs_mb, inodes)

    return make


def main() -> None:
    if os.getuid() == 0:
        # Its clean-up is kill(-1, SIGKILL): harmless as the sandbox user, fatal to a host as root.
        sys.exit("padbox agent: refusing to run as root; it belongs inside a sandbox as its unprivileged user")
    set_dumpable(False)
    os.umask(0o022)
    try:
        serve(control_fd=0, output_fd=1, workdir=WORKDIR, kill=kill_everything, make_box=box_maker(sys.argv[1:]))
    except Exception as exc:  # report, so the server can say what broke
        sys.stderr.write(f"padbox agent failed: {exc!r}\n")
        raise


if __name__ == "__main__":
    main()
