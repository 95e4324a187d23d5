"""The second of two runs: look for anything an earlier run left. Prints one JSON report."""

import ctypes
import errno
import json
import os
import resource
import socket
import stat
import sys

libc = ctypes.CDLL(None, use_errno=True)
KEY = 0x5ADB0C
secret = sys.argv[1] if len(sys.argv) > 1 else ""


def call(result: int) -> str:
    return "found" if result != -1 else errno.errorcode.get(ctypes.get_errno(), "?")


def connect(family: int, address: object) -> str:
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.connect(address)
        return "connected"
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    finally:
        s.close()


def processes() -> list[dict[str, object]]:
    seen = []
    for name in sorted((n for n in os.listdir("/proc") if n.isdigit()), key=int):
        try:
            with open(f"/proc/{name}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        seen.append({"pid": int(name), "comm": comm, "cmdline": cmdline})
    return seen


def secret_anywhere() -> list[str]:
    """Every readable file under the writable places and every open descriptor in /proc that holds the secret."""
    places = []
    for top in ("/work", "/tmp", "/dev/shm", "/dev/mqueue"):
        for folder, _, files in os.walk(top):
            places += [os.path.join(folder, f) for f in files]
    for pid in (n for n in os.listdir("/proc") if n.isdigit()):
        try:
            places += [f"/proc/{pid}/fd/{fd}" for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
    found = []
    for path in places:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe or socket would block the read
                continue
            with open(path, "rb") as f:
                if secret and secret.encode() in f.read(1 << 20):
                    found.append(path)
        except OSError:
            continue
    return found


libc.mq_open.restype = ctypes.c_int
report = {
    "hostname": socket.gethostname(),
    "files": {d: sorted(os.listdir(d)) for d in ("/work", "/tmp", "/dev/shm", os.environ.get("HOME", "/tmp"))},
    "shm": call(libc.shmget(KEY, 0, 0)),
    "sem": call(libc.semget(KEY, 0, 0)),
    "msg": call(libc.msgget(KEY, 0)),
    "mq": call(libc.mq_open(b"/padbox-trace", os.O_RDONLY)),
    "abstract_socket": connect(socket.AF_UNIX, "\0padbox-trace"),
    "loopback_listener": connect(socket.AF_INET, ("127.0.0.1", 4444)),
    "processes": processes(),
    "own_pid": os.getpid(),
    "umask": os.umask(0o022),
    "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
    "cwd": os.getcwd(),
    "env": sorted(os.environ),
    "secret_found_in": secret_anywhere(),
}
print(json.dumps(report))
