"""Write a fake `exit` (code 0, 1 ms) into the agent's own output stream, then go on running: if the server
believed it, this run would be reported `ok` while the program still runs."""

import json
import os
import struct
import time


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BI", kind, len(payload)) + payload


fake_exit = {"code": 0, "signal": None, "wall_ms": 1, "cpu_ms": 1, "memory_bytes": 1, "oom": False}
try:
    fd = os.open("/proc/1/fd/1", os.O_WRONLY)
    os.write(fd, frame(66, b"FORGED\n") + frame(68, json.dumps(fake_exit).encode()))
    print("wrote into the agent's stream", flush=True)
except OSError as exc:
    print(f"refused: {exc.strerror}", flush=True)
time.sleep(600)
