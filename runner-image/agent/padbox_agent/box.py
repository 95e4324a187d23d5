"""One run's sandbox inside a host container: fresh namespaces and memory-only mounts, used once, then destroyed.

The container is the outer wall (cgroup limits, no network, padbox's seccomp profile, read-only image); a Box is
the inner one. Before a run is asked for, the agent forks a process that unshares new user, mount, IPC, UTS,
network and pid namespaces, and that process's child (the keeper) becomes pid 1 of the new pid namespace and
mounts, inside the new mount namespace only:
- an empty tmpfs on /work, /tmp and /dev/shm, and a fresh mqueue on /dev/mqueue;
- a /proc of the new pid namespace, so the run sees its own processes only and /proc/self stays true (that mount
  needs an unmasked /proc in the container, which backends/docker.py asks for in this mode; the keeper masks
  the same paths Docker would in the new /proc, and /sys/firmware);
- nothing else: the image stays read-only, and the mounts are locked by the kernel (made in a user namespace).

Each stage's process joins those namespaces (spawn.py) and starts as a child in the box's pid namespace. The
keeper stays, reaps orphans, and on request kills every process of the box at once (`kill(-1)` inside a pid
namespace reaches all of it but pid 1, and is atomic against fork). At the end of the run the agent kills the
keeper: the kernel then ends every process of the namespace, and the namespaces, with their mounts, IPC
objects and sockets, go with their last reference.

ctypes rather than a library: Python 3.11 (bookworm's) has no os.unshare or os.setns, and the few calls needed
are one line each.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import select
import signal
import socket
import struct
import time

libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15

# The order stages join them: the user namespace first, which gives the joining process the capabilities it
# needs for the others in the box (as its creator's uid, the agent owns it); the pid namespace last (it applies
# to the children the joining process makes next).
NAMESPACES = (
    ("user", CLONE_NEWUSER),
    ("mnt", CLONE_NEWNS),
    ("ipc", CLONE_NEWIPC),
    ("uts", CLONE_NEWUTS),
    ("net", CLONE_NEWNET),
    ("pid", CLONE_NEWPID),
)
# What Docker hides in a container's /proc, hidden again in the box's own: kernel memory, keys, timers and
# scheduler state of the whole host.
MASKED_FILES = ("/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug")  # fmt: skip
MASKED_DIRS = ("/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap")
READ_ONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
KEEPER_READY = b"R"
KILL_REQUEST = b"k"
KILLED = b"k"
KILL_ACK_TIMEOUT_S = 2.0
# How long the kernel may take to end every process of a box whose keeper was killed. A process it cannot end
# in that time (stuck in uninterruptible sleep) leaves the box alive: the container is then retired.
DESTROY_TIMEOUT_S = 2.0
PROGRAM_UID = 1000


class BoxError(OSError):
    """The box could not be made (the kernel or the container refuses a namespace or a mount)."""


class Box:
    """A prepared sandbox: its keeper (pid 1 inside, by its pid outside) and the handles the agent holds."""

    __slots__ = ("keeper", "namespaces", "commands", "acks", "files_dir")

    def __init__(self, keeper: int, namespaces: list[tuple[int, int]], commands: int, acks: int) -> None:
        self.keeper = keeper
        self.namespaces = namespaces  # (descriptor, CLONE_NEW* type), in the order to join them
        self.commands = commands  # to the keeper
        self.acks = acks  # from the keeper
        # Where the agent writes the run's files: the box's /work, seen through its keeper. Nothing of a program
        # has run in the box when it is used, so nothing in it can be a trap (a symlink, say).
        self.files_dir = f"/proc/{keeper}/root/work"

    def enter(self) -> None:
        """In a freshly forked, single-threaded child: join the box (its next child starts inside)."""
        for fd, kind in self.namespaces:
            if libc.setns(fd, kind) != 0:
                raise _os_error("setns")

    def kill_all(self) -> None:
        """End every process in the box but its keeper, and return once they are all sent SIGKILL."""
        try:
            os.write(self.commands, KILL_REQUEST)
            ready, _, _ = select.select([self.acks], [], [], KILL_ACK_TIMEOUT_S)
            if ready and os.read(self.acks, 1) == KILLED:
                return
        except OSError:
            pass
        raise BoxError(errno.ESRCH, "the box's keeper did not answer")

    def destroy(self) -> bool:
        """Kill the keeper, and with it everything in the box; True when the box is gone whole in time."""
        for fd, _ in self.namespaces:
            os.close(fd)
        self.namespaces = []
        for fd in (self.commands, self.acks):
            os.close(fd)
        try:
            os.kill(self.keeper, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + DESTROY_TIMEOUT_S
        while True:
            try:
                pid, _ = os.waitpid(self.keeper, os.WNOHANG)
            except ChildProcessError:  # the agent's loop reaped it already
                return True
            if pid:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)


def prepare(tmpfs_mb: int, tmpfs_inodes: int) -> Box:
    """Make a box; BoxError saying what the kernel refused."""
    cmd_r, cmd_w = os.pipe()
    ack_r, ack_w = os.pipe()
    report_r, report_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(cmd_w)
        os.close(ack_r)
        os.close(report_r)
        _unshare_and_keep(cmd_r, ack_w, report_w, tmpfs_mb, tmpfs_inodes)
    os.close(cmd_r)
    os.close(ack_w)
    os.close(report_w)
    try:
        with os.fdopen(report_r, "rb") as report:
            data = report.read()
        os.waitpid(pid, 0)
        if len(data) != 4:
            raise BoxError(errno.EPERM, data.decode(errors="replace") or "the box's maker died")
        (keeper,) = struct.unpack("i", data)
        ready = _read_ready(ack_r)
        if ready != KEEPER_READY:
            raise BoxError(errno.EPERM, ready.decode(errors="replace") or "the box's keeper died")
        namespaces = []
        try:
            for name, kind in NAMESPACES:
                namespaces.append((os.open(f"/proc/{keeper}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), kind))
        except OSError:
            for fd, _ in namespaces:
                os.close(fd)
            raise
    except BaseException:
        os.close(cmd_w)
        os.close(ack_r)
        raise
    for fd in (cmd_w, ack_r):
        fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
    return Box(keeper, namespaces, cmd_w, ack_r)


def _read_ready(fd: int) -> bytes:
    """The keeper's first word: READY, or why it failed (until it closes its end)."""
    chunks = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
        if chunks[0][:1] == KEEPER_READY:
            return KEEPER_READY
    return b"".join(chunks)


def _unshare_and_keep(cmd_r: int, ack_w: int, report_w: int, tmpfs_mb: int, tmpfs_inodes: int) -> None:
    """In the forked child: new namespaces, then a keeper inside them; this child itself only reports its pid."""
    try:
        # The agent is non-dumpable, which makes /proc/self root's: the maps below could not be written.
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID
        if libc.unshare(flags) != 0:
            raise _os_error("unshare")
        # The program keeps its uid and gid (1000) inside; no other id exists there.
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{PROGRAM_UID} {PROGRAM_UID} 1")
        _write("/proc/self/gid_map", f"{PROGRAM_UID} {PROGRAM_UID} 1")
        keeper = os.fork()
        if keeper == 0:
            os.close(report_w)
            _keep(cmd_r, ack_w, tmpfs_mb, tmpfs_inodes)
        os.write(report_w, struct.pack("i", keeper))
    except BaseException as exc:
        os.write(report_w, f"could not make a sandbox: {exc}".encode())
    os._exit(0)


def _keep(cmd_r: int, ack_w: int, tmpfs_mb: int, tmpfs_inodes: int) -> None:
    """The keeper: pid 1 of the box. Mount, say READY, then serve kill requests until the agent lets go."""
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_IGN)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, _reap_all)
        # Dumpable, so the agent (the owner of the box's user namespace) may reach /proc/<keeper>/root and ns;
        # the program may not: the keeper holds capabilities in the box that the program lacks.
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        libc.prctl(PR_SET_NAME, b"padbox-box", 0, 0, 0)  # what `ps` in the box shows as its pid 1
        _mount_box(tmpfs_mb, tmpfs_inodes)
        _loopback_up()
        os.closerange(3, min(cmd_r, ack_w))
        os.closerange(max(cmd_r, ack_w) + 1, 65536)
        for fd in (0, 1, 2):
            try:
                os.close(fd)
            except OSError:
                pass
        os.write(ack_w, KEEPER_READY)
    except BaseException as exc:
        try:
            os.write(ack_w, f"could not prepare a sandbox: {exc}".encode())
        finally:
            os._exit(1)
    while True:
        try:
            command = os.read(cmd_r, 1)
        except OSError:
            command = b""
        if command != KILL_REQUEST:  # the agent let go of the box: its end ends everything in it
            os._exit(0)
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        _reap_all()
        os.write(ack_w, KILLED)


def _reap_all(*_signal: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _mount_box(tmpfs_mb: int, tmpfs_inodes: int) -> None:
    # Nothing mounted here may reach the container's mount namespace (refused by some kernels: then the mounts
    # below are private to the box anyway, as a mount namespace made in a user namespace only receives).
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None, optional=True)
    base = f"size={tmpfs_mb}m,nr_inodes={tmpfs_inodes},uid={PROGRAM_UID},gid={PROGRAM_UID}"
    _mount("tmpfs", "/work", "tmpfs", MS_NOSUID | MS_NODEV, base + ",mode=0755")
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, base + ",mode=1777")
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, base + ",mode=1777")
    _mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, None, optional=True)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    for path in MASKED_FILES:
        if os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND, None)
    for path in MASKED_DIRS:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
    for path in READ_ONLY:
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC, None)
            _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, None)


def _loopback_up() -> None:
    """The new network namespace has a loopback that is down: programs may still talk to themselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _mount(
    source: str | None, target: str, kind: str | None, flags: int, data: str | None, optional: bool = False
) -> None:
    def c(value: str | None) -> bytes | None:
        return None if value is None else value.encode()

    if libc.mount(c(source), c(target), c(kind), flags, c(data)) != 0:
        error = _os_error(f"mount {kind or 'bind'} on {target}")
        if not optional:
            raise error


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _os_error(what: str) -> OSError:
    number = ctypes.get_errno()
    return OSError(number, f"{what}: {os.strerror(number)}")
