"""Fork until the pids limit refuses, say how many, then become a fork bomb."""

import os
import signal

children = 0
while True:
    try:
        if os.fork() == 0:
            signal.pause()
        children += 1
    except BlockingIOError:
        break
print(f"forked: {children}", flush=True)
while True:
    try:
        os.fork()
    except OSError:
        pass
