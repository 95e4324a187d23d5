"""spawn() on the host, with real short processes in a temporary work directory."""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from padbox_agent.spawn import BadSpec, Process, ProcessSpec, parse_spec, spawn
from padbox_agent.wire import Kind

PYTHON = sys.executable
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}


def run(process: Process, stdin: bytes | None = None, timeout_s: float = 10) -> tuple[dict[Kind, bytes], int]:
    """Feed stdin (then close it, or send ^D on a terminal), collect output until every stream ends, and
    return it with the wait status."""
    out: dict[Kind, bytes] = {Kind.STDOUT: b"", Kind.STDERR: b""}
    to_close = {*process.outputs, process.stdin_fd}
    if stdin is not None:
        assert process.stdin_fd is not None
        os.write(process.stdin_fd, stdin + (b"\x04" if process.tty else b""))
        if not process.tty:
            os.close(process.stdin_fd)
            to_close.remove(process.stdin_fd)
    deadline = time.monotonic() + timeout_s
    open_fds = dict(process.outputs)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], max(0, deadline - time.monotonic()))
        assert ready, "the process's output did not end in time"
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: a terminal whose every slave is closed
                data = b""
            if data:
                out[open_fds[fd]] += data
            else:
                del open_fds[fd]
    _, status = os.waitpid(process.pid, 0)
    # Closed only now: closing a terminal's master before the program has exited would hang it up.
    for fd in to_close:
        if fd is not None:
            os.close(fd)
    return out, status


def spec(*argv: str, **fields: Any) -> ProcessSpec:
    return parse_spec({"argv": list(argv), "env": ENV, **fields})


def test_pipes_keep_stdout_and_stderr_apart_and_report_the_exit_code(tmp_path: Path) -> None:
    script = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    out, status = run(spawn(spec(PYTHON, "-c", script), str(tmp_path)))
    assert out == {Kind.STDOUT: b"out\n", Kind.STDERR: b"err\n"}
    assert os.waitstatus_to_exitcode(status) == 3


def test_the_program_reads_stdin_to_its_end(tmp_path: Path) -> None:
    out, status = run(spawn(spec("/bin/cat"), str(tmp_path)), stdin=b"typed\nlines\n")
    assert out[Kind.STDOUT] == b"typed\nlines\n"
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_signal_to_the_process_group_ends_the_program(tmp_path: Path) -> None:
    process = spawn(spec("/bin/sleep", "30"), str(tmp_path))
    os.killpg(process.pid, signal.SIGTERM)
    _, status = run(process)
    assert os.waitstatus_to_exitcode(status) == -signal.SIGTERM


def test_the_program_starts_in_the_work_directory_with_only_its_environment(tmp_path: Path) -> None:
    out, _ = run(spawn(spec("/bin/sh", "-c", "pwd; /usr/bin/env", env={"ONLY": "this"}), str(tmp_path)))
    lines = out[Kind.STDOUT].decode().splitlines()
    assert lines[0] == str(tmp_path)
    assert [line for line in lines[1:] if not line.startswith("PWD=")] == ["ONLY=this"]  # sh adds PWD


def test_the_program_inherits_no_descriptor_no_ignored_signal_and_leads_its_own_session(tmp_path: Path) -> None:
    leak = os.open("/dev/null", os.O_RDONLY)  # stands for the agent's control stream
    try:
        out, _ = run(spawn(spec("/bin/ls", "/proc/self/fd"), str(tmp_path)))
    finally:
        os.close(leak)
    assert out[Kind.STDOUT].split() == [b"0", b"1", b"2", b"3"]  # 3 is ls's own
    # Python ignores SIGPIPE and SIGXFSZ; the program gets the default actions back.
    out, _ = run(spawn(spec("/bin/grep", "^SigIgn", "/proc/self/status"), str(tmp_path)))
    # Signals 1 to 31 (bits 0 to 30). The real-time ones glibc keeps for itself (32, 33) cannot be reset from
    # Python, and a test run's own parent may ignore them; inside a sandbox the agent, pid 1, starts clean.
    assert int(out[Kind.STDOUT].split()[1], 16) & ((1 << 31) - 1) == 0
    leader = "import os; print(os.getsid(0) == os.getpid() == os.getpgrp())"
    out, _ = run(spawn(spec(PYTHON, "-c", leader), str(tmp_path)))
    assert out[Kind.STDOUT] == b"True\n"


def test_the_program_is_the_oom_killers_first_choice(tmp_path: Path) -> None:
    out, _ = run(spawn(spec("/bin/cat", "/proc/self/oom_score_adj"), str(tmp_path)))
    assert out[Kind.STDOUT] == b"1000\n"


def test_the_cpu_time_limit_stops_a_busy_program(tmp_path: Path) -> None:
    started = time.monotonic()
    _, status = run(spawn(spec(PYTHON, "-c", "while True: pass", cpu_time_s=0.5), str(tmp_path)))
    assert os.waitstatus_to_exitcode(status) == -signal.SIGXCPU
    assert time.monotonic() - started < 5


def test_a_terminal_is_one_stream_of_the_given_size_and_the_controlling_tty(tmp_path: Path) -> None:
    script = "import os; print(os.isatty(1), tuple(os.get_terminal_size(0))); print(open('/dev/tty').fileno() > 0)"
    process = spawn(spec(PYTHON, "-c", script, tty=True, cols=100, rows=30), str(tmp_path))
    assert process.tty and list(process.outputs.values()) == [Kind.STDOUT]
    out, status = run(process)
    assert out[Kind.STDOUT] == b"True (100, 30)\r\nTrue\r\n"
    assert os.waitstatus_to_exitcode(status) == 0


def test_end_of_input_on_a_terminal_is_its_eof_character(tmp_path: Path) -> None:
    out, status = run(spawn(spec("/bin/cat", tty=True), str(tmp_path)), stdin=b"hello\n")
    assert out[Kind.STDOUT] == b"hello\r\nhello\r\n"  # the terminal's echo, then cat's copy
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_program_that_cannot_start_says_why_and_exits_127(tmp_path: Path) -> None:
    out, status = run(spawn(spec("/no/such/program"), str(tmp_path)))
    assert out[Kind.STDERR].startswith(b"padbox: cannot start /no/such/program: ")
    assert os.waitstatus_to_exitcode(status) == 127


def test_a_spec_is_parsed_with_its_defaults() -> None:
    parsed = parse_spec({"argv": ["/bin/true"]})
    assert parsed == ProcessSpec(argv=("/bin/true",), env={}, tty=False, cols=80, rows=24, cpu_time_s=0.0)
    full = {"argv": ["a", "b"], "env": {"K": "v"}, "tty": True, "cols": 1, "rows": 65535, "cpu_time_s": 2}
    assert parse_spec(full) == ProcessSpec(("a", "b"), {"K": "v"}, True, 1, 65535, 2.0)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({}, "'argv' must be a non-empty list of strings"),
        ({"argv": []}, "'argv' must be a non-empty list of strings"),
        ({"argv": "/bin/sh"}, "'argv' must be a non-empty list of strings"),
        ({"argv": [""]}, "'argv' must be a non-empty list of strings"),
        ({"argv": ["/bin/sh", 1]}, "'argv' must be a non-empty list of strings"),
        ({"argv": ["/bin/s\x00h"]}, "'argv' must not contain a NUL byte"),
        ({"argv": ["a"], "env": []}, "'env' must be an object of strings"),
        ({"argv": ["a"], "env": {"K": 1}}, "'env' must be an object of strings"),
        ({"argv": ["a"], "env": {"A=B": "c"}}, "'env' has an invalid variable 'A=B'"),
        ({"argv": ["a"], "env": {"": "c"}}, "'env' has an invalid variable ''"),
        ({"argv": ["a"], "tty": 1}, "'tty' must be a boolean"),
        ({"argv": ["a"], "cols": 0}, "'cols' must be an integer from 1 to 65535"),
        ({"argv": ["a"], "rows": 65536}, "'rows' must be an integer from 1 to 65535"),
        ({"argv": ["a"], "rows": True}, "'rows' must be an integer from 1 to 65535"),
        ({"argv": ["a"], "cpu_time_s": -1}, "'cpu_time_s' must be a number of seconds"),
        ({"argv": ["a"], "cpu_time_s": float("inf")}, "'cpu_time_s' must be a number of seconds"),
        ({"argv": ["a"], "cpu_time_s": "1"}, "'cpu_time_s' must be a number of seconds"),
        ({"argv": ["a"], "stdin": "x", "user": 0}, "unknown fields 'stdin', 'user'"),
    ],
)
def test_a_malformed_spec_is_refused_naming_the_field(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(BadSpec, match=message):
        parse_spec(obj)


def test_a_spec_cannot_be_changed_after_parsing() -> None:
    parsed = parse_spec({"argv": ["a"], "env": {"K": "v"}})
    with pytest.raises(AttributeError):
        parsed.tty = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        parsed.env["K"] = "w"  # type: ignore[index]
