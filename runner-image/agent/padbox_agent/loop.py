"""The agent's event loop: control frames in, the stage's output and its EXIT out.

One thread and one selector over the control stream, the output stream, the stage's pipes (or pty) and
a wake-up pipe for SIGCHLD. Every descriptor, the work directory and the way leftover processes are
killed are parameters, so the loop runs on a host over plain pipes, without Docker and without root.
"""

from __future__ import annotations

import os
import resource
import select
import selectors
import signal
import time
from collections.abc import Callable, Mapping

from padbox_agent.box import Box, BoxError
from padbox_agent.files import parse_files, write_files
from padbox_agent.outbox import Outbox
from padbox_agent.report import exit_report, read_oom_kills, read_pids_refusals
from padbox_agent.spawn import MAX_TERMINAL_SIDE, Process, parse_spec, set_nonblocking, set_window, spawn
from padbox_agent.wire import ExitSigner, FrameDecoder, FrameError, Kind, decode_json, encode, encode_json, json_payload

READ_SIZE = 65536
# After the stage's process exits, how long its output may stay open (held by a background child).
DRAIN_AFTER_EXIT_S = 0.2
# After the kill, how long to wait for the output the pipes still hold.
FINAL_DRAIN_S = 1.0

TYPE_CHECKING = False  # typing and dataclasses cost every sandbox's start; only the type checker needs typing
if TYPE_CHECKING:
    from typing import Any

    # Ends every process a stage may have left behind, given the stage's process group (None before any
    # stage). Inside the sandbox that is kill(-1, SIGKILL); outside it, it must be something narrower.
    Kill = Callable[[int | None], None]
    # Makes the next run's box (box.prepare with the container's sizes); BoxError when it cannot.
    MakeBox = Callable[[], Box]


def kill_group(group: int | None) -> None:
    """A harmless Kill for running the loop outside a sandbox: SIGKILL the stage's process group only."""
    if group is None:
        return
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def serve(control_fd: int, output_fd: int, workdir: str, kill: Kill, make_box: MakeBox | None = None) -> None:
    """Run the agent until the server detaches. control_fd and output_fd must be different descriptors.
    With make_box, every run gets a box of its own (box.py) and the container hosts one run after another."""
    Agent(control_fd, output_fd, workdir, kill, make_box).run()


class Stage:
    """The running stage: its process, and what the loop knows of it so far."""

    __slots__ = ("process", "oom_before", "status", "usage", "exited_at", "stdin_queue", "eof_requested")

    def __init__(self, process: Process, oom_before: int | None) -> None:
        self.process = process
        self.oom_before = oom_before
        self.status: int | None = None  # the wait status, once reaped
        self.usage: resource.struct_rusage | None = None
        self.exited_at = 0.0
        self.stdin_queue = bytearray()
        self.eof_requested = False


class Agent:
    """The loop's state. Nothing happens until run()."""

    def __init__(
        self, control_fd: int, output_fd: int, workdir: str, kill: Kill, make_box: MakeBox | None = None
    ) -> None:
        if control_fd == output_fd:
            raise ValueError("the control and output streams must be different descriptors")
        self._control_fd = control_fd
        self._output_fd = output_fd
        self._workdir = workdir
        self._kill = kill
        self._selector = selectors.DefaultSelector()
        self._decoder = FrameDecoder()
        self._outbox = Outbox()
        self._stage: Stage | None = None
        self._last_group: int | None = None
        self._signer: ExitSigner | None = None  # authenticates EXIT frames; set once, before any program runs
        self._running = True
        self._make_box = make_box
        self._box: Box | None = None
        self._box_marks: tuple[int | None, int | None] = (None, None)  # OOM kills and pids refusals at its start
        self._unclean = ""  # what went wrong in the current box, if anything (the container is then retired)
        self._handlers: Mapping[Kind, Callable[[bytes], None]] = {
            Kind.FILES: self._on_files,
            Kind.EXEC: self._on_exec,
            Kind.STDIN: self._on_stdin,
            Kind.EOF: self._on_eof,
            Kind.SIGNAL: self._on_signal,
            Kind.RESIZE: self._on_resize,
            Kind.KILL: self._on_kill,
            Kind.KEY: self._on_key,
            Kind.PING: self._on_ping,
            Kind.RESET: self._on_reset,
        }

    def run(self) -> None:
        """Say READY, then serve frames until the server detaches or stops reading; kill what is left."""
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w, self._control_fd, self._output_fd):
            set_nonblocking(fd)
        previous_wakeup = signal.set_wakeup_fd(wake_w)
        previous_handler = signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so SIGCHLD wakes the loop
        self._selector.register(self._control_fd, selectors.EVENT_READ, "control")
        self._selector.register(wake_r, selectors.EVENT_READ, "wake")
        try:
            self._send(encode_json(Kind.READY, self._first_box()))
            while self._running:
                for key, _ in self._selector.select(self._timeout()):
                    self._dispatch(key.data, key.fd, wake_r)
                self._after_events()
        finally:
            if self._box is not None:
                self._box.destroy()
            self._kill(self._stage.process.group if self._stage else self._last_group)
            signal.set_wakeup_fd(previous_wakeup)
            if previous_handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(signal.SIGCHLD, previous_handler)
            self._selector.close()
            os.close(wake_r)
            os.close(wake_w)

    def _timeout(self) -> float | None:
        stage = self._stage
        timeout = 0.05 if stage is not None and stage.status is not None else None  # waiting for the drain
        deadline = self._outbox.deadline
        if deadline is not None:
            until = max(0.0, deadline - time.monotonic())
            timeout = until if timeout is None else min(timeout, until)
        return timeout

    def _dispatch(self, role: str, fd: int, wake_fd: int) -> None:
        stage = self._stage
        if role == "control":
            self._read_control()
        elif role == "wake":
            _drain(wake_fd)
            self._reap()
        elif role == "output" and stage is not None and fd in stage.process.outputs:
            self._read_output(stage, fd)
        elif role == "stdin" and stage is not None:
            self._feed_stdin(stage)
        elif role == "out":
            self._flush()

    def _after_events(self) -> None:
        stage = self._stage
        if stage is not None and stage.process.tty and stage.stdin_queue:
            self._feed_stdin(stage)  # a pty master is not watched for writing: its writes are just retried
        self._outbox.tick(time.monotonic())
        self._finish_if_done()
        self._flush()

    # --- to the server ----------------------------------------------------------------------------
    def _send(self, frame: bytes) -> None:
        self._outbox.send(frame)
        self._flush()

    def _fail(self, message: str) -> None:
        self._send(encode_json(Kind.FAIL, {"message": message}))

    def _flush(self) -> None:
        while self._outbox.has_pending():
            try:
                written = os.write(self._output_fd, self._outbox.pending())
            except BlockingIOError:
                break
            except OSError:  # the server is gone
                self._running = False
                self._outbox.discard()
                break
            self._outbox.written(written)
        self._update_registrations()

    def _update_registrations(self) -> None:
        self._watch(self._output_fd, selectors.EVENT_WRITE, "out", self._outbox.has_pending())
        stage = self._stage
        if stage is None:
            return
        reading = self._outbox.should_read_outputs()
        for fd in stage.process.outputs:
            self._watch(fd, selectors.EVENT_READ, "output", reading)
        stdin_fd = stage.process.stdin_fd
        if stdin_fd is not None and not stage.process.tty:
            self._watch(stdin_fd, selectors.EVENT_WRITE, "stdin", bool(stage.stdin_queue))

    def _watch(self, fd: int, events: int, role: str, wanted: bool) -> None:
        registered = fd in self._selector.get_map()
        if wanted and not registered:
            self._selector.register(fd, events, role)
        elif not wanted and registered:
            self._selector.unregister(fd)

    # --- from the server --------------------------------------------------------------------------
    def _read_control(self) -> None:
        try:
            data = os.read(self._control_fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the server detached: the session is over
            self._running = False
            return
        try:
            frames = self._decoder.feed(data)
        except FrameError as exc:  # the stream cannot be resynchronised: say why and end
            self._fail(f"garbled control stream: {exc}")
            self._running = False
            return
        for kind, payload in frames:
            handler = self._handlers.get(kind)
            if handler is None:
                self._fail(f"the agent does not take {kind.name} frames")
                continue
            try:
                handler(payload)
            except ValueError as exc:  # FrameError and BadSpec included: the server sent something malformed
                self._fail(f"malformed {kind.name} frame: {exc}")

    def _on_key(self, payload: bytes) -> None:
        if self._signer is not None:
            return  # never replaced: whoever could send a second key could sign EXIT frames of their own
        if not payload:
            raise ValueError("the key is empty")
        self._signer = ExitSigner(payload)

    def _on_ping(self, payload: bytes) -> None:
        """The server's liveness check: an agent that cannot answer (stopped, starved, gone) is a lost sandbox."""
        self._send(encode(Kind.PONG))

    def _on_files(self, payload: bytes) -> None:
        try:
            write_files(parse_files(decode_json(payload)), self._box.files_dir if self._box else self._workdir)
        except (OSError, ValueError) as exc:
            self._fail(f"could not write the source files: {exc}")
            return
        self._send(encode_json(Kind.DONE, {}))

    def _on_exec(self, payload: bytes) -> None:
        signer = self._signer
        if signer is None:
            self._fail("EXEC before KEY: no program runs without the key that signs its EXIT")
            return
        signer.begin_stage()  # every EXEC counts, as it does on the server's side
        if self._stage is not None:
            self._fail("a process is already running")
            return
        spec = parse_spec(decode_json(payload))
        oom_before = read_oom_kills()
        try:
            process = spawn(spec, self._workdir, box=self._box)
        except OSError as exc:  # no descriptors or no process left: the stage cannot start
            self._fail(f"could not start {spec.argv[0]}: {exc}")
            return
        self._stage = Stage(process, oom_before)
        self._last_group = process.group
        self._update_registrations()

    def _on_stdin(self, payload: bytes) -> None:
        stage = self._stage
        if stage is not None and stage.status is None:
            stage.stdin_queue += payload
            self._feed_stdin(stage)

    def _on_eof(self, payload: bytes) -> None:
        stage = self._stage
        if stage is not None:
            stage.eof_requested = True
            self._feed_stdin(stage)

    def _on_signal(self, payload: bytes) -> None:
        number = decode_json(payload).get("signal")
        if isinstance(number, bool) or not isinstance(number, int) or number not in signal.valid_signals():
            raise ValueError("field 'signal' must be a signal number")
        stage = self._stage
        if stage is None:
            return
        if number == signal.SIGKILL:
            self._end_processes(stage.process.group)  # whatever the program started goes too
            return
        try:
            os.killpg(stage.process.group, number)
        except ProcessLookupError:
            pass

    def _on_resize(self, payload: bytes) -> None:
        cols, rows = _window(decode_json(payload))
        stage = self._stage
        if stage is not None and stage.process.tty and stage.process.stdin_fd is not None:
            set_window(stage.process.stdin_fd, cols, rows)

    def _on_kill(self, payload: bytes) -> None:
        self._end_processes(self._stage.process.group if self._stage else self._last_group)

    # --- boxes ------------------------------------------------------------------------------------
    def _first_box(self) -> dict[str, Any]:
        """READY's payload: the mode this container can serve, with the first box made when it is boxes."""
        if self._make_box is None:
            return {"isolation": "container"}
        try:
            self._new_box()
        except OSError as exc:  # the kernel or the host refuses: one run per container, as before
            self._make_box = None
            return {"isolation": "container", "why": str(exc)}
        return {"isolation": "namespace"}

    def _new_box(self) -> None:
        self._box = self._make_box() if self._make_box is not None else None
        self._box_marks = (read_oom_kills(), read_pids_refusals())
        self._unclean = ""

    def _on_reset(self, payload: bytes) -> None:
        """The run is over: destroy its box whole, say whether it left the container clean, make the next."""
        box = self._box
        if box is None:
            self._fail("RESET without a box: this container serves one run")
            return
        if self._stage is not None:
            self._fail("RESET while a process runs")
            return
        why = self._unclean or self._box_anomaly()
        if not box.destroy():
            why = why or "a process of the run outlived its sandbox's kill"
        self._box = None
        self._reap()
        why = why or _leftover_processes()
        try:
            self._new_box()
        except OSError as exc:
            self._fail(f"could not prepare the next sandbox: {exc}")
            return
        self._send(
            encode_json(Kind.READY, {"isolation": "namespace", "clean": not why, **({"why": why} if why else {})})
        )

    def _box_anomaly(self) -> str:
        """A run that met the container's memory or pids limit leaves it suspect (a kernel under pressure)."""
        oom_before, pids_before = self._box_marks
        oom_now, pids_now = read_oom_kills(), read_pids_refusals()
        if oom_before is not None and oom_now is not None and oom_now > oom_before:
            return "the run reached the memory limit"
        if pids_before is not None and pids_now is not None and pids_now > pids_before:
            return "the run reached the pids limit"
        return ""

    def _end_processes(self, group: int | None) -> None:
        """Every process of the stage (and of the run's box so far) ends now."""
        box = self._box
        if box is None:
            self._kill(group)
            return
        try:
            box.kill_all()
        except BoxError as exc:  # the keeper is gone or stuck: end it all; the container will be retired
            self._unclean = str(exc)
            self._kill(group)

    # --- the stage's input ------------------------------------------------------------------------
    def _feed_stdin(self, stage: Stage) -> None:
        fd = stage.process.stdin_fd
        if fd is None:
            stage.stdin_queue.clear()
            return
        while stage.stdin_queue:
            try:
                written = os.write(fd, stage.stdin_queue)
            except BlockingIOError:
                break
            except OSError:  # the program closed its stdin or exited
                stage.stdin_queue.clear()
                break
            del stage.stdin_queue[:written]
        if stage.eof_requested and not stage.stdin_queue:
            if stage.process.tty:
                try:
                    os.write(fd, b"\x04")  # the terminal's end-of-file character
                except OSError:
                    pass
            else:
                self._close_stdin(stage)
            stage.eof_requested = False
        self._update_registrations()

    def _close_stdin(self, stage: Stage) -> None:
        """End of input for pipes; for a terminal (the same descriptor as its output) only at the end."""
        fd = stage.process.stdin_fd
        if fd is None:
            return
        if fd in self._selector.get_map():
            self._selector.unregister(fd)
        os.close(fd)
        stage.process.stdin_fd = None

    # --- the stage's output and end ---------------------------------------------------------------
    def _read_output(self, stage: Stage, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # a pty master reports EIO once every slave is closed
            data = b""
        if not data:
            self._close_output(stage, fd)
            return
        self._outbox.output(stage.process.outputs[fd], data, time.monotonic())

    def _close_output(self, stage: Stage, fd: int) -> None:
        if fd in self._selector.get_map():
            self._selector.unregister(fd)
        del stage.process.outputs[fd]
        # A terminal's master stays open until the stage ends: closing it hangs the terminal up, and a
        # program that closed its stdio but is still exiting would be killed by SIGHUP.
        if fd != stage.process.stdin_fd:
            os.close(fd)

    def _reap(self) -> None:
        """Collect every exited child: the stage's process, and orphans (the agent is pid 1)."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            stage = self._stage
            if stage is not None and pid == stage.process.pid:
                stage.status, stage.usage, stage.exited_at = status, usage, time.monotonic()

    def _finish_if_done(self) -> None:
        stage = self._stage
        if stage is None or stage.status is None:
            return
        if stage.process.outputs and time.monotonic() - stage.exited_at <= DRAIN_AFTER_EXIT_S:
            return
        self._end_processes(stage.process.group)  # nothing a stage started may outlive it
        self._drain_outputs(stage)
        for fd in list(stage.process.outputs):
            self._close_output(stage, fd)
        self._close_stdin(stage)
        self._stage = None
        report = exit_report(
            stage.status, stage.usage, stage.exited_at - stage.process.started, stage.oom_before, read_oom_kills()
        )
        if self._signer is not None:  # always: EXEC is refused without a key
            self._send(encode(Kind.EXIT, self._signer.sign(json_payload(report))))

    def _drain_outputs(self, stage: Stage) -> None:
        """What the pipes still hold is bounded by their capacity, so take it all, even past the high
        watermark, waiting at most FINAL_DRAIN_S for writers the kill has not yet ended."""
        deadline = time.monotonic() + FINAL_DRAIN_S
        poller = select.poll()
        for fd in stage.process.outputs:
            poller.register(fd, select.POLLIN)
        while stage.process.outputs:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for fd, _ in poller.poll(left * 1000):
                if fd in stage.process.outputs:
                    self._read_output(stage, fd)
                    if fd not in stage.process.outputs:
                        poller.unregister(fd)


def _leftover_processes() -> str:
    """After a box is destroyed only the agent (pid 1) may be left in the container. Outside one (the loop run
    on a host) there is nothing to say."""
    if os.getpid() != 1:
        return ""
    left = [name for name in os.listdir("/proc") if name.isdigit() and int(name) != os.getpid()]
    return f"{len(left)} process(es) left in the container after the run" if left else ""


def _window(obj: Mapping[str, Any]) -> tuple[int, int]:
    sides: list[int] = []
    for name in ("cols", "rows"):
        side = obj.get(name)
        if isinstance(side, bool) or not isinstance(side, int) or not 1 <= side <= MAX_TERMINAL_SIDE:
            raise ValueError(f"fields 'cols' and 'rows' must be integers from 1 to {MAX_TERMINAL_SIDE}")
        sides.append(side)
    return sides[0], sides[1]


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass
