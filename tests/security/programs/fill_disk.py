"""Fill the work directory and wait (holding it full) until told to go on, so the host can look meanwhile;
then open files until refused, then create 100,000 files. One JSON line per step."""

import errno
import json
import os
import sys


def fill(directory: str) -> dict:
    written = 0
    try:
        for i in range(10_000):
            with open(f"{directory}/fill{i}", "wb") as f:
                for _ in range(4):
                    f.write(b"x" * (1 << 20))
                    written += 1
    except OSError as exc:
        return {"error": errno.errorcode[exc.errno], "mb": written}
    return {"error": None, "mb": written}


def many_files(directory: str, count: int) -> dict:
    os.makedirs(directory)
    for i in range(count):
        try:
            open(f"{directory}/{i}", "w").close()
        except OSError as exc:
            return {"error": errno.errorcode[exc.errno], "created": i}
    return {"error": None, "created": count}


def open_files() -> dict:
    fds = []
    try:
        while True:
            fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as exc:
        return {"error": errno.errorcode[exc.errno], "opened": len(fds)}
    finally:
        for fd in fds:
            os.close(fd)


print(json.dumps({"fill": fill("/work")}), flush=True)
sys.stdin.readline()  # the host looks at the container's layer on disk while the work directory is full
for name in os.listdir("/work"):
    if name.startswith("fill"):
        os.remove(f"/work/{name}")
print(json.dumps({"open": open_files()}), flush=True)
print(json.dumps({"files": many_files("/work/many", 100_000)}), flush=True)
