"""Starting one stage's process: the spec the server sends, and the child's set-up before it becomes the program.

Forking happens only in spawn(), never as a side effect of building an object, and the work directory is
a parameter, so the whole path from spec to running program is tested on a host without Docker.
"""

from __future__ import annotations

import ctypes
import fcntl
import math
import os
import resource
import signal
import struct
import termios
import time
from collections.abc import Mapping
from types import MappingProxyType

from padbox_agent.confine import confine
from padbox_agent.wire import Kind

TYPE_CHECKING = False  # typing and dataclasses cost every sandbox's start; only the type checker needs typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Final, NoReturn

    from padbox_agent.box import Box

WORKDIR = "/work"
PR_SET_DUMPABLE = 4
MAX_TERMINAL_SIDE = 65535  # TIOCSWINSZ holds each side in 16 bits
SPEC_FIELDS = ("argv", "env", "tty", "cols", "rows", "cpu_time_s")
# Signals the agent handles or ignores; the program starts with the default action for each.
# Every signal a disposition can be set for: the program starts with the defaults, whatever the agent (Python
# ignores SIGPIPE and SIGXFSZ) or whoever started the agent (a shell ignoring SIGINT, say) had set.
RESET_SIGNALS = tuple(sorted(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}))


class BadSpec(ValueError):
    """An EXEC the agent cannot carry out as sent; the message names the field."""


class ProcessSpec:
    """What the server asks to run: the EXEC frame's JSON object, checked."""

    __slots__ = SPEC_FIELDS

    def __init__(
        self,
        argv: tuple[str, ...],
        env: Mapping[str, str] = MappingProxyType({}),
        tty: bool = False,
        cols: int = 80,
        rows: int = 24,
        cpu_time_s: float = 0.0,  # 0: no CPU-time limit
    ) -> None:
        self.argv: Final = argv
        self.env: Final = env
        self.tty: Final = tty
        self.cols: Final = cols
        self.rows: Final = rows
        self.cpu_time_s: Final = cpu_time_s

    def __setattr__(self, name: str, value: object) -> None:
        """Each field is set once, by __init__: a spec cannot be changed after parsing."""
        if hasattr(self, name):
            raise AttributeError(f"a ProcessSpec cannot be changed ({name})")
        object.__setattr__(self, name, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in SPEC_FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProcessSpec) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values()[:1])

    def __repr__(self) -> str:
        return "ProcessSpec(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in SPEC_FIELDS) + ")"


def parse_spec(obj: Mapping[str, Any]) -> ProcessSpec:
    """The spec of an EXEC frame; BadSpec saying which field is wrong rather than a crash mid-fork."""
    unknown = sorted(set(obj) - set(SPEC_FIELDS))
    if unknown:
        raise BadSpec(f"unknown fields {', '.join(map(repr, unknown))}")
    argv = obj.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv) or not argv[0]:
        raise BadSpec("field 'argv' must be a non-empty list of strings")
    if any("\x00" in a for a in argv):
        raise BadSpec("field 'argv' must not contain a NUL byte")
    env = obj.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise BadSpec("field 'env' must be an object of strings")
    for name, value in env.items():
        if not name or "=" in name or "\x00" in name or "\x00" in value:
            raise BadSpec(f"field 'env' has an invalid variable {name!r}")
    tty = obj.get("tty", False)
    if not isinstance(tty, bool):
        raise BadSpec("field 'tty' must be a boolean")
    cpu = obj.get("cpu_time_s", 0)
    if isinstance(cpu, bool) or not isinstance(cpu, int | float) or not math.isfinite(cpu) or cpu < 0:
        raise BadSpec("field 'cpu_time_s' must be a number of seconds, 0 or more")
    return ProcessSpec(
        argv=tuple(argv),
        env=MappingProxyType(dict(env)),
        tty=tty,
        cols=_terminal_side(obj, "cols", 80),
        rows=_terminal_side(obj, "rows", 24),
        cpu_time_s=float(cpu),
    )


def _terminal_side(obj: Mapping[str, Any], name: str, default: int) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TERMINAL_SIDE:
        raise BadSpec(f"field {name!r} must be an integer from 1 to {MAX_TERMINAL_SIDE}")
    return value


class Process:
    """A started stage's process and the descriptors the agent holds for it (non-blocking)."""

    __slots__ = ("pid", "group", "tty", "stdin_fd", "outputs", "started")

    def __init__(
        self, pid: int, tty: bool, stdin_fd: int | None, outputs: dict[int, Kind], started: float, group: int = 0
    ) -> None:
        self.pid = pid  # the agent's child, whose exit is the stage's
        # The program's process group and session (the program calls setsid): the agent's child itself, or in a
        # box the program that child started inside, by its pid as the agent sees it.
        self.group = group or pid
        self.tty = tty
        self.stdin_fd = stdin_fd  # the pty master in tty mode, which is also the only output
        self.outputs = outputs
        self.started = started  # time.monotonic() just before the fork


def spawn(spec: ProcessSpec, workdir: str = WORKDIR, box: Box | None = None) -> Process:
    """Fork and exec the program with pipes (stdout and stderr apart) or a pseudo-terminal (one stream).
    A program that cannot be started still forks: its child reports why on its stderr and exits 127,
    as a shell would. OSError when even the descriptors or the fork fail (the pids limit, say).

    With a box, the agent's child joins the box and starts the program as its own child inside (a pid namespace
    applies to the children of whoever joins it), waits for it, and ends the same way it did: the agent sees
    the stage's exit, and its usage, as the child's."""
    opened: list[int] = []  # closed again if anything before the fork fails
    try:
        if spec.tty:
            master, slave = os.openpty()
            opened += [master, slave]
            set_window(slave, spec.cols, spec.rows)
            stdio, parent_fds = (slave, slave, slave), [master]
            stdin_fd, outputs = master, {master: Kind.STDOUT}
        else:
            in_r, in_w = os.pipe()
            opened += [in_r, in_w]
            out_r, out_w = os.pipe()
            opened += [out_r, out_w]
            err_r, err_w = os.pipe()
            opened += [err_r, err_w]
            stdio, parent_fds = (in_r, out_w, err_w), [in_w, out_r, err_r]
            stdin_fd, outputs = in_w, {out_r: Kind.STDOUT, err_r: Kind.STDERR}
        settled_r, settled_w = os.pipe()
        opened += [settled_r, settled_w]
        started = time.monotonic()
        pid = os.fork()
    except BaseException:
        for fd in opened:
            os.close(fd)
        raise
    if pid == 0:
        if box is None:
            _become_program(spec, workdir, stdio, parent_fds + [settled_r], settled_w)
        _run_in_box(spec, box, stdio, parent_fds + [settled_r], settled_w)
    for fd in {*stdio, settled_w}:
        os.close(fd)
    # Wait until the program leads its own process group, so a signal sent right after EXEC reaches it
    # (killpg would find no group before the program's setsid). EOF instead means it died first. In a box the
    # child says which pid the program has.
    settled = os.read(settled_r, 4)
    os.close(settled_r)
    group = struct.unpack("i", settled)[0] if box is not None and len(settled) == 4 else pid
    for fd in parent_fds:
        set_nonblocking(fd)
    return Process(pid=pid, tty=spec.tty, stdin_fd=stdin_fd, outputs=outputs, started=started, group=group)


def _run_in_box(
    spec: ProcessSpec, box: Box, stdio: tuple[int, int, int], parent_fds: list[int], settled_fd: int
) -> NoReturn:
    """In the agent's child: join the box, start the program inside, then end as it ended."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        box.enter()
        inner_r, inner_w = os.pipe()
        program = os.fork()
        if program == 0:
            os.close(inner_r)
            _become_program(spec, WORKDIR, stdio, parent_fds + [settled_fd], inner_w, confine=confine)
        # Hold nothing of the stage's: its pipes must close when the program's side closes them.
        _close_all_but(inner_r, settled_fd)
        os.read(inner_r, 1)
        os.write(settled_fd, struct.pack("i", program))
        os.close(settled_fd)
        _, status = os.waitpid(program, 0)
    except BaseException as exc:
        os.write(stdio[2], f"padbox: cannot start {spec.argv[0]} in its sandbox: {exc}\n".encode())
        os._exit(127)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):  # those two keep their default action anyway
            try:
                signal.signal(number, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status))


def _become_program(
    spec: ProcessSpec,
    workdir: str,
    stdio: tuple[int, int, int],
    parent_fds: list[int],
    settled_fd: int,
    confine: Callable[[], None] | None = None,
) -> NoReturn:
    """In the child: set up, then exec. Never returns, whatever fails."""
    try:
        for sig in RESET_SIGNALS:
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):  # glibc reserves a few real-time signals for itself
                pass
        signal.set_wakeup_fd(-1)
        os.setsid()  # its own session and process group: signals and the terminal reach it and its children
        os.write(settled_fd, b".")
        os.close(settled_fd)
        for fd in parent_fds:
            os.close(fd)
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        if os.isatty(0):
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        os.closerange(3, 65536)  # nothing of the agent's (its control stream above all) reaches the program
        if spec.cpu_time_s > 0:
            soft = max(1, math.ceil(spec.cpu_time_s))
            resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
        # The program, not the agent, is what the OOM killer should take. The agent is non-dumpable,
        # which makes this child's /proc/self root-owned: become dumpable first (exec would anyway).
        set_dumpable(True)
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")
        except OSError:
            pass
        os.chdir(workdir)
        if confine is not None:
            confine()
        os.execve(spec.argv[0], list(spec.argv), dict(spec.env))
    except BaseException as exc:  # report anything, then leave the child
        os.write(2, f"padbox: cannot start {spec.argv[0]}: {exc}\n".encode())
    os._exit(127)


def _close_all_but(*kept: int) -> None:
    low = 0
    for fd in sorted(kept):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


def set_dumpable(dumpable: bool) -> None:
    """Non-dumpable: no other process of the user can read this one's /proc entries or ptrace it."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def set_nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


def set_window(fd: int, cols: int, rows: int) -> None:
    """The terminal's size, as the program sees it through TIOCGWINSZ (and SIGWINCH on a change)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
