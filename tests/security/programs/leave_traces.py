"""The first of two runs: leave every trace a program can, then exit. Prints one JSON report of what it did."""

import ctypes
import errno
import json
import os
import resource
import socket
import subprocess
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
KEY = 0x5ADB0C  # the System V key the second run looks for
IPC_CREAT = 0o1000
secret = sys.argv[1]
done: dict[str, object] = {"hostname": socket.gethostname()}

for folder in ("/work", "/tmp", "/dev/shm", os.environ.get("HOME", "/tmp")):
    with open(os.path.join(folder, "trace.txt"), "w") as f:
        f.write(secret)
done["shm"] = libc.shmget(KEY, 4096, IPC_CREAT | 0o666)
done["sem"] = libc.semget(KEY, 1, IPC_CREAT | 0o666)
done["msg"] = libc.msgget(KEY, IPC_CREAT | 0o666)
libc.mq_open.restype = ctypes.c_int
done["mq"] = libc.mq_open(b"/padbox-trace", os.O_CREAT | os.O_RDWR, 0o666, None)


def daemon() -> None:
    """Double fork and setsid: a process that holds sockets and the secret, meant to outlive the run."""
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0padbox-trace")
    abstract.listen()
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 4444))
    tcp.listen()
    kept = open("/tmp/trace.txt")  # noqa: SIM115 - held open on purpose
    while kept:
        time.sleep(1)


daemon()
subprocess.Popen(
    ["nohup", "sleep", "1000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
)
os.umask(0o000)
os.environ["PADBOX_TRACE"] = secret
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
os.chdir("/tmp")
done["sethostname"] = "allowed" if libc.sethostname(b"owned", 5) == 0 else errno.errorcode[ctypes.get_errno()]
time.sleep(0.3)  # the daemon is listening before the report says so
print(secret)
print(json.dumps(done))
