"""Everything a program can do to outlive its run, at once; then it exits 0 at once.
argv[1] is a name the survivors carry in their command lines, so the host can look for them."""

import os
import signal
import sys
import time

name = sys.argv[1]
IGNORED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGPIPE)


def survivor(how: str) -> None:
    """Become a process that ignores every signal it can and never ends, named for the host to find."""
    for sig in IGNORED:
        signal.signal(sig, signal.SIG_IGN)
    os.execv("/bin/bash", [f"{name}-{how}", "-c", f"trap '' TERM INT HUP QUIT; exec -a {name}-{how} sleep 100000"])


def daemonize(how: str) -> None:
    """The classic double fork: setsid in between, stdio closed, so no parent or terminal ties it."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            survivor(how)
        os._exit(0)
    os.wait()


daemonize("double-fork")
if os.fork() == 0:  # setsid alone, keeping the run's stdout open
    os.setsid()
    survivor("setsid")
if os.fork() == 0:  # trapping SIGTERM, in the program's own process group
    survivor("trap")
if os.fork() == 0:  # a phoenix: forks a fresh copy of itself every few ms, so its pid never stays put
    while True:
        if os.fork():
            os._exit(0)
        time.sleep(0.005)
for _ in range(50):  # zombies: children that exit and are never waited for
    if os.fork() == 0:
        os._exit(0)
print("planted", flush=True)
