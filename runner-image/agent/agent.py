"""The agent: the one long-lived process in a padbox sandbox, talking to the server over the
container's attached stdin/stdout (framing in agent_wire.py).

Why an agent rather than one `docker exec` per step: an exec costs a Docker round trip
(~50 ms) for every file copy, stage and signal, and exec processes cannot be signalled or
measured precisely. The agent starts each stage's process itself (pipes or a pseudo-terminal),
relays its output as it is produced, applies backpressure when the server reads slowly,
and reports exit status, CPU time, peak memory and the kernel's OOM kills.

It runs as the same unprivileged user as the program, as the container's pid 1 (no docker-init),
so it reaps orphans itself and cannot be signalled from inside. It makes itself non-dumpable so
the program can neither read its /proc entries nor write to the container's stdout (forging
frames) through /proc/1/fd, and after every stage it kills every process in the sandbox, so
nothing outlives a stage.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import math
import os
import resource
import selectors
import signal
import struct
import sys
import termios
import time

from padbox_agent.wire import FrameDecoder, Kind, decode_json, encode, encode_json, exit_mac, json_payload

WORKDIR = "/work"
READ_SIZE = 65536
# Output is coalesced: reads that follow each other within COALESCE_S go out as one frame of at
# most READ_SIZE bytes, so a program printing many short lines costs few frames, at a few ms of delay.
COALESCE_S = 0.004
# Output waiting for the server; past HIGH the agent stops reading the program, so a slow
# client makes the program block on write instead of anything buffering without bound.
OUTBOX_HIGH = 1 << 20
OUTBOX_LOW = 1 << 18
# After the stage's process exits, how long its output pipes may stay open (a background child).
DRAIN_AFTER_EXIT_S = 0.2
PR_SET_DUMPABLE = 4


def read_oom_kills() -> int | None:
    """The kernel's count of OOM kills in this container's memory cgroup (v1 or v2), if visible."""
    for path, key in (("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"), ("/sys/fs/cgroup/memory.events", "oom_kill")):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except OSError:
            continue
    return None


def set_dumpable(dumpable: bool) -> None:
    """Non-dumpable: no other process of the user can read this one's /proc entries or ptrace it."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def set_nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


def set_window(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Process:
    """One stage's process and the descriptors the agent holds for it."""

    def __init__(self, spec: dict) -> None:
        self.tty = bool(spec.get("tty"))
        self.started = time.monotonic()
        self.oom_before = read_oom_kills()
        self.status: int | None = None
        self.rusage: resource.struct_rusage | None = None
        self.exited_at = 0.0
        self.stdin_queue = bytearray()
        self.eof_requested = False
        self.outputs: dict[int, Kind] = {}
        argv = [str(a) for a in spec["argv"]]
        env = {str(k): str(v) for k, v in spec.get("env", {}).items()}
        cpu = float(spec.get("cpu_time_s", 0))
        if self.tty:
            master, slave = os.openpty()
            set_window(slave, int(spec.get("cols", 80)), int(spec.get("rows", 24)))
            child_fds = (slave, slave, slave)
            self.stdin_fd: int | None = master
            self.outputs[master] = Kind.STDOUT
            parent_only = [master]
            to_close = [slave]
        else:
            in_r, in_w = os.pipe()
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            child_fds = (in_r, out_w, err_w)
            self.stdin_fd = in_w
            self.outputs[out_r] = Kind.STDOUT
            self.outputs[err_r] = Kind.STDERR
            parent_only = [in_w, out_r, err_r]
            to_close = [in_r, out_w, err_w]
        self.pid = os.fork()
        if self.pid == 0:  # child: never returns
            self._exec_child(argv, env, cpu, child_fds, parent_only)
        for fd in to_close:
            os.close(fd)
        for fd in parent_only:
            set_nonblocking(fd)

    @staticmethod
    def _exec_child(argv: list[str], env: dict[str, str], cpu: float, fds: tuple[int, int, int], parent_only: list[int]) -> None:
        try:
            for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            os.setsid()
            for fd in parent_only:
                os.close(fd)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            if os.isatty(0):
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            os.closerange(3, 65536)
            if cpu > 0:
                soft = max(1, math.ceil(cpu))
                resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
            # The program, not the agent, is what the OOM killer should take. The agent is non-dumpable,
            # which makes this child's /proc/self root-owned: become dumpable first (exec would anyway).
            set_dumpable(True)
            try:
                with open("/proc/self/oom_score_adj", "w") as f:
                    f.write("1000")
            except OSError:
                pass
            os.chdir(WORKDIR)
            os.execve(argv[0], argv, env)
        except BaseException as exc:  # noqa: BLE001 - report anything, then leave the child
            os.write(2, f"padbox: cannot start {argv[0]}: {exc}\n".encode())
        os._exit(127)

    def result(self) -> dict:
        status = self.status or 0
        code = os.waitstatus_to_exitcode(status)
        usage = self.rusage
        oom_after = read_oom_kills()
        return {
            "code": code if code >= 0 else None,
            "signal": signal.Signals(-code).name if code < 0 else None,
            "wall_ms": round((self.exited_at - self.started) * 1000),
            "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000) if usage else None,
            "memory_bytes": usage.ru_maxrss * 1024 if usage else None,
            "oom": None if oom_after is None or self.oom_before is None else oom_after > self.oom_before,
        }


class Agent:
    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.decoder = FrameDecoder()
        self.outbox = bytearray()
        self.process: Process | None = None
        self.reading_outputs = True
        self.running = True
        self.held_kind: Kind | None = None
        self.held = bytearray()
        self.flush_at: float | None = None
        self.key: bytes | None = None  # authenticates EXIT frames; set once, before any program runs
        self.stages = 0
        wake_r, wake_w = os.pipe()
        set_nonblocking(wake_r)
        set_nonblocking(wake_w)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.wake_fd = wake_r
        set_nonblocking(0)
        set_nonblocking(1)
        self.selector.register(0, selectors.EVENT_READ, "control")
        self.selector.register(wake_r, selectors.EVENT_READ, "wake")

    # --- sending to the server -------------------------------------------------
    def send(self, frame: bytes) -> None:
        self.outbox += frame
        self.flush()

    def flush(self) -> None:
        while self.outbox:
            try:
                written = os.write(1, self.outbox)
            except BlockingIOError:
                break
            except BrokenPipeError:
                self.running = False
                self.outbox.clear()
                return
            del self.outbox[:written]
        self._update_registrations()

    def _update_registrations(self) -> None:
        want_write = bool(self.outbox)
        key = self.selector.get_map().get(1)
        if want_write and key is None:
            self.selector.register(1, selectors.EVENT_WRITE, "out")
        elif not want_write and key is not None:
            self.selector.unregister(1)
        process = self.process
        if process is None:
            return
        if self.reading_outputs and len(self.outbox) > OUTBOX_HIGH:
            self.reading_outputs = False
        elif not self.reading_outputs and len(self.outbox) < OUTBOX_LOW:
            self.reading_outputs = True
        for fd in process.outputs:
            registered = fd in self.selector.get_map()
            if self.reading_outputs and not registered:
                self.selector.register(fd, selectors.EVENT_READ, "output")
            elif not self.reading_outputs and registered:
                self.selector.unregister(fd)
        self._update_stdin_registration(process)

    def _update_stdin_registration(self, process: Process) -> None:
        fd = process.stdin_fd
        if fd is None or process.tty:
            return  # a pty master is both: its writes are attempted directly
        registered = fd in self.selector.get_map()
        if process.stdin_queue and not registered:
            self.selector.register(fd, selectors.EVENT_WRITE, "stdin")
        elif not process.stdin_queue and registered:
            self.selector.unregister(fd)

    # --- handling server frames --------------------------------------------------
    def handle(self, kind: Kind, payload: bytes) -> None:
        process = self.process
        if kind == Kind.FILES:
            self.write_files(decode_json(payload))
        elif kind == Kind.EXEC:
            if process is not None:
                self.send(encode_json(Kind.FAIL, {"message": "a process is already running"}))
                return
            self.stages += 1
            self.process = Process(decode_json(payload))
            self._update_registrations()
        elif kind == Kind.STDIN and process is not None and process.status is None:
            process.stdin_queue += payload
            self.feed_stdin(process)
        elif kind == Kind.EOF and process is not None:
            process.eof_requested = True
            self.feed_stdin(process)
        elif kind == Kind.SIGNAL and process is not None:
            self.signal_process(process, int(decode_json(payload)["signal"]))
        elif kind == Kind.RESIZE and process is not None and process.tty and process.stdin_fd is not None:
            size = decode_json(payload)
            set_window(process.stdin_fd, int(size["cols"]), int(size["rows"]))
        elif kind == Kind.KEY and self.key is None:  # never replaced: a program could write a key of its own
            self.key = payload
        elif kind == Kind.KILL:
            kill_everything()

    def write_files(self, spec: dict) -> None:
        try:
            for item in spec["files"]:
                name = str(item["name"])
                if name.startswith("/") or ".." in name.split("/"):
                    raise ValueError(f"refusing file name {name!r}")
                path = os.path.join(WORKDIR, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
                with os.fdopen(fd, "wb") as f:
                    f.write(str(item["content"]).encode())
        except (OSError, ValueError, KeyError) as exc:
            self.send(encode_json(Kind.FAIL, {"message": f"could not write the source files: {exc}"}))
            return
        self.send(encode_json(Kind.DONE, {}))

    def signal_process(self, process: Process, number: int) -> None:
        if number == signal.SIGKILL:
            kill_everything()
            return
        try:
            os.killpg(process.pid, number)
        except ProcessLookupError:
            pass

    def feed_stdin(self, process: Process) -> None:
        fd = process.stdin_fd
        if fd is None:
            return
        while process.stdin_queue:
            try:
                written = os.write(fd, process.stdin_queue)
            except BlockingIOError:
                break
            except OSError:  # the program closed its stdin or exited
                process.stdin_queue.clear()
                break
            del process.stdin_queue[:written]
        if process.eof_requested and not process.stdin_queue:
            if process.tty:
                try:
                    os.write(fd, b"\x04")  # the terminal's end-of-file character
                except OSError:
                    pass
                process.eof_requested = False
            else:
                self._close_stdin(process)
        self._update_registrations()

    def _close_stdin(self, process: Process) -> None:
        fd = process.stdin_fd
        if fd is None or process.tty:
            return
        if fd in self.selector.get_map():
            self.selector.unregister(fd)
        os.close(fd)
        process.stdin_fd = None

    # --- process output and exit ----------------------------------------------------
    def read_output(self, fd: int) -> None:
        process = self.process
        if process is None:
            return
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # a pty master reports EIO once every slave is closed
            data = b""
        if not data:
            self._close_output(process, fd)
            return
        self.hold(process.outputs[fd], data)

    def hold(self, kind: Kind, data: bytes) -> None:
        """Coalesce output; a change of stream flushes first, so stdout/stderr order is kept."""
        if self.held_kind is not None and kind != self.held_kind:
            self.release_held()
        self.held_kind = kind
        self.held += data
        if len(self.held) >= READ_SIZE:
            self.release_held()
        elif self.flush_at is None:
            self.flush_at = time.monotonic() + COALESCE_S

    def release_held(self) -> None:
        if self.held_kind is not None and self.held:
            self.send(encode(self.held_kind, bytes(self.held)))
        self.held.clear()
        self.held_kind = None
        self.flush_at = None

    def _close_output(self, process: Process, fd: int) -> None:
        if fd in self.selector.get_map():
            self.selector.unregister(fd)
        del process.outputs[fd]
        if process.tty:
            process.stdin_fd = None
        os.close(fd)

    def reap(self) -> None:
        process = self.process
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if process is not None and pid == process.pid:
                process.status, process.rusage, process.exited_at = status, usage, time.monotonic()

    def finish_if_done(self) -> None:
        process = self.process
        if process is None or process.status is None:
            return
        drained = not process.outputs
        late = time.monotonic() - process.exited_at > DRAIN_AFTER_EXIT_S
        if not (drained or late):
            return
        kill_everything()  # nothing a stage started may outlive it
        # What the pipes still hold is bounded by their capacity, so take it all, even past OUTBOX_HIGH.
        deadline = time.monotonic() + 1.0
        for fd in list(process.outputs):
            while fd in process.outputs and time.monotonic() < deadline:
                self.read_output(fd)
        for fd in list(process.outputs):
            self._close_output(process, fd)
        if process.stdin_fd is not None:
            self._close_stdin(process)
        self.release_held()
        self.process = None
        self.reading_outputs = True
        result = json_payload(process.result())
        self.send(encode(Kind.EXIT, exit_mac(self.key or b"", self.stages, result) + result))

    # --- the loop -------------------------------------------------------------------
    def run(self) -> None:
        self.send(encode_json(Kind.READY, {}))
        while self.running:
            process = self.process
            waiting_for_drain = process is not None and process.status is not None
            timeout = 0.05 if waiting_for_drain else None
            if self.flush_at is not None:
                timeout = max(0.0, min(timeout or 1.0, self.flush_at - time.monotonic()))
            for key, _ in self.selector.select(timeout):
                role = key.data
                if role == "control":
                    self.read_control()
                elif role == "wake":
                    drain_wakeups(self.wake_fd)
                    self.reap()
                elif role == "output":
                    self.read_output(key.fd)
                elif role == "stdin" and self.process is not None:
                    self.feed_stdin(self.process)
                elif role == "out":
                    self.flush()
            if self.process is not None and self.process.tty and self.process.stdin_queue:
                self.feed_stdin(self.process)
            if self.flush_at is not None and time.monotonic() >= self.flush_at:
                self.release_held()
            self.finish_if_done()
        kill_everything()

    def read_control(self) -> None:
        try:
            data = os.read(0, READ_SIZE)
        except BlockingIOError:
            return
        if not data:  # the server detached: the session is over
            self.running = False
            return
        for kind, payload in self.decoder.feed(data):
            self.handle(kind, payload)


def drain_wakeups(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def kill_everything() -> None:
    """SIGKILL every process this user owns except the agent itself (and the init, pid 1)."""
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise


def main() -> None:
    if os.getuid() == 0:
        # Its clean-up is kill(-1, SIGKILL): harmless as the sandbox user, fatal to a host as root.
        sys.exit("padbox agent: refusing to run as root; it belongs inside a sandbox as its unprivileged user")
    set_dumpable(False)
    os.umask(0o022)
    try:
        Agent().run()
    except Exception as exc:  # report, so the server can say what broke
        sys.stderr.write(f"padbox agent failed: {exc!r}\n")
        raise


if __name__ == "__main__":
    main()
