"""The `padbox run` command-line client against the real server."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ServerProcess

pytestmark = pytest.mark.docker


def padbox(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "padbox.cli", *args], capture_output=True, text=True, timeout=60, **kwargs
    )  # type: ignore[call-overload]


def test_cli_streams_output_reads_piped_input_and_exits_with_the_program_code(
    server: ServerProcess, tmp_path: Path
) -> None:
    program = tmp_path / "greet.py"
    program.write_text("import sys\nname = input()\nprint('hi', name)\nprint('oops', file=sys.stderr)\nsys.exit(4)\n")
    done = padbox("run", str(program), "--url", server.ws_url, input="Ada\n")
    assert done.stdout == "hi Ada\n"
    assert "oops" in done.stderr
    assert "run: runtime_error, exit 4" in done.stderr
    assert done.returncode == 4


def test_cli_reports_compile_errors(server: ServerProcess, tmp_path: Path) -> None:
    program = tmp_path / "broken.c"
    program.write_text("int main(void) { return nope; }\n")
    done = padbox("run", str(program), "--url", server.ws_url, stdin=subprocess.DEVNULL)
    assert "nope" in done.stderr and "compile: compile_error" in done.stderr
    assert done.returncode == 1


def test_cli_unknown_language_is_a_clear_error(server: ServerProcess, tmp_path: Path) -> None:
    program = tmp_path / "x.py"
    program.write_text("print(1)")
    done = padbox("run", str(program), "--language", "cobol-2099", "--url", server.ws_url, stdin=subprocess.DEVNULL)
    assert "unknown_language" in done.stderr and done.returncode == 2


def test_cli_tty_mode_passes_keystrokes_raw(server: ServerProcess, tmp_path: Path) -> None:
    program = tmp_path / "ask.py"
    program.write_text("import os\nname = input('name? ')\nprint('tty', os.isatty(0), name)\n")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "padbox.cli", "run", str(program), "--tty", "--url", server.ws_url],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    sent = False
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
        if not sent and b"name? " in seen:
            os.write(master, b"Bo\r")
            sent = True
    proc.wait(10)
    os.close(master)
    assert b"tty True Bo" in seen
    assert proc.returncode == 0
