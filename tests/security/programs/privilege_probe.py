"""Try every way up from the sandbox user, and say what happened. Prints one JSON report."""

import ctypes
import errno
import json
import os
import socket
import stat
import subprocess

libc = ctypes.CDLL(None, use_errno=True)
SYS_FINIT_MODULE = 313
SYS_INIT_MODULE = 175
SYS_BPF = 321
SYS_UNSHARE = 272
CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
PTRACE_ATTACH = 16
PR_GET_NO_NEW_PRIVS = 39
SYS_IO_URING_SETUP = 425
SYS_IO_URING_ENTER = 426
SYS_IO_URING_REGISTER = 427
SYS_KEYCTL = 250
SYS_ADD_KEY = 248
SYS_USERFAULTFD = 323
SYS_PERF_EVENT_OPEN = 298
SYS_SETNS = 308
SYS_CLONE = 56
SYS_FSOPEN = 430
SYS_OPEN_TREE = 428
SYS_PROCESS_VM_READV = 310
KEYCTL_GET_KEYRING_ID = 0
KEY_SPEC_SESSION_KEYRING = -3
SIGCHLD = 17


def outcome(action) -> str:
    try:
        result = action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    return "allowed" if result is None else str(result)


def libc_call(name: str, *args: object) -> str:
    if getattr(libc, name)(*args) == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    return "allowed"


def syscall(number: int, *args: int) -> str:
    return libc_call("syscall", number, *args)


def io_uring_setup() -> str:
    params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
    fd = libc.syscall(SYS_IO_URING_SETUP, 8, params)
    if fd == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    os.close(fd)
    return "allowed"


def clone_new_user() -> str:
    """A raw clone(2) asking for a user namespace; a child it makes leaves at once."""
    pid = libc.syscall(SYS_CLONE, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    os.waitpid(pid, 0)
    return "allowed"


def setns_user() -> str:
    fd = os.open("/proc/self/ns/user", os.O_RDONLY)
    try:
        return syscall(SYS_SETNS, fd, CLONE_NEWUSER)
    finally:
        os.close(fd)


def command(*argv: str) -> dict:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"code": None, "output": str(exc)}
    return {"code": done.returncode, "output": (done.stdout + done.stderr)[-300:]}


def device(path: str, kind: int, major: int, minor: int) -> dict:
    """Make a device node and, if that worked, try to open it: what matters is reaching a host device."""
    made = outcome(lambda: os.mknod(path, kind | 0o666, os.makedev(major, minor)))
    opened = outcome(lambda: os.close(os.open(path, os.O_RDWR))) if made == "allowed" else None
    return {"mknod": made, "open": opened}


def status(field: str) -> str | None:
    with open("/proc/self/status") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith(field + ":")), None)


def isolated(probe) -> object:
    """Run one probe in a child of its own, so a probe that succeeds (an unshare) cannot change the next."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            result = probe()
        except Exception as exc:  # noqa: BLE001 - report whatever happened
            result = f"error: {exc!r}"
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


os.makedirs("/tmp/mnt", exist_ok=True)
probes = {
    "setuid_su": lambda: command("su", "root", "-c", "id -u"),
    "setuid_mount": lambda: command("mount", "-t", "tmpfs", "none", "/tmp/mnt"),
    "setuid_passwd": lambda: command("passwd", "-d", "root"),
    "mount_syscall": lambda: libc_call("mount", b"none", b"/tmp/mnt", b"tmpfs", 0, None),
    "unshare_user": lambda: syscall(SYS_UNSHARE, CLONE_NEWUSER),
    "unshare_mount": lambda: syscall(SYS_UNSHARE, CLONE_NEWNS),
    "unshare_command": lambda: command("unshare", "--user", "--map-root-user", "id", "-u"),
    "ptrace_agent": lambda: libc_call("ptrace", PTRACE_ATTACH, 1, 0, 0),
    "mknod_char": lambda: device("/work/mem", stat.S_IFCHR, 1, 1),
    "mknod_block": lambda: device("/tmp/disk", stat.S_IFBLK, 8, 0),
    "raw_socket": lambda: outcome(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()),
    "packet_socket": lambda: outcome(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()),
    "finit_module": lambda: syscall(SYS_FINIT_MODULE, os.open("/dev/null", os.O_RDONLY), 0, 0),
    "init_module": lambda: syscall(SYS_INIT_MODULE, 0, 0, 0),
    "setuid_root": lambda: outcome(lambda: os.setuid(0)),
    "chroot": lambda: outcome(lambda: os.chroot("/tmp")),
    "bpf": lambda: syscall(SYS_BPF, 0, 0, 0),
    "io_uring_setup": io_uring_setup,
    "io_uring_enter": lambda: syscall(SYS_IO_URING_ENTER, 0, 0, 0, 0, 0, 0),
    "io_uring_register": lambda: syscall(SYS_IO_URING_REGISTER, 0, 0, 0, 0),
    "keyctl": lambda: syscall(SYS_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0),
    "add_key": lambda: libc_call("syscall", SYS_ADD_KEY, b"user", b"padbox", b"x", 1, KEY_SPEC_SESSION_KEYRING),
    "userfaultfd": lambda: syscall(SYS_USERFAULTFD, 0),
    "perf_event_open": lambda: syscall(SYS_PERF_EVENT_OPEN, 0, 0, -1, -1, 0),
    "setns_user": setns_user,
    "clone_new_user": clone_new_user,
    "fsopen": lambda: libc_call("syscall", SYS_FSOPEN, b"tmpfs", 0),
    "open_tree": lambda: libc_call("syscall", SYS_OPEN_TREE, -100, b"/", 0),
    "process_vm_readv": lambda: syscall(SYS_PROCESS_VM_READV, 1, 0, 0, 0, 0, 0),
}
report = {
    "uid": os.getuid(),
    "euid": os.geteuid(),
    "groups": os.getgroups(),
    "no_new_privs": libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
    "cap_eff": status("CapEff"),
    "cap_bnd": status("CapBnd"),
    **{name: isolated(probe) for name, probe in probes.items()},
}
print(json.dumps(report))
