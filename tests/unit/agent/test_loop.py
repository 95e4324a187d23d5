"""The agent's loop end to end on the host: a real agent process over pipes, real programs, no Docker.

The agent runs with kill_group (only the stage's process group is killed), never the sandbox's
kill(-1), which on a host would end every process its user owns."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from padbox_agent.wire import HEADER, ExitVerifier, FrameDecoder, Kind, decode_json, encode, encode_json
from tests.eventually import eventually

KEY = b"k" * 32
ENV = {"PATH": "/usr/bin:/bin"}
AGENT = (
    "import sys\n"
    "from padbox_agent.loop import kill_group, serve\n"
    "serve(control_fd=0, output_fd=1, workdir=sys.argv[1], kill=kill_group)\n"
)


class AgentProcess:
    """The server's end of the conversation, with its own ExitVerifier."""

    def __init__(self, workdir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", AGENT, str(workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.decoder = FrameDecoder()
        self.frames: deque[tuple[Kind, bytes]] = deque()
        self.verifier = ExitVerifier(KEY)

    def send(self, kind: Kind, payload: bytes = b"") -> None:
        self.send_raw(encode(kind, payload))
        if kind == Kind.EXEC:
            self.verifier.begin_stage()

    def send_json(self, kind: Kind, obj: dict[str, Any]) -> None:
        self.send(kind, json.dumps(obj).encode())

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def exec(self, *argv: str, **fields: Any) -> None:
        self.send_json(Kind.EXEC, {"argv": list(argv), "env": ENV, **fields})

    def next_frame(self, timeout_s: float = 10) -> tuple[Kind, bytes] | None:
        """The agent's next frame; None once its output has ended."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while not self.frames:
            ready, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
            assert ready, "the agent said nothing in time"
            data = os.read(fd, 1 << 20)
            if not data:
                return None
            self.frames.extend(self.decoder.feed(data))
        return self.frames.popleft()

    def expect(self, kind: Kind) -> dict[str, Any]:
        frame = self.next_frame()
        assert frame is not None and frame[0] == kind, frame
        return decode_json(frame[1])

    def until_exit(self) -> tuple[dict[Kind, bytes], dict[str, Any]]:
        """Output until the EXIT, which must verify for the current stage; the output and the report."""
        out = {Kind.STDOUT: b"", Kind.STDERR: b""}
        while True:
            frame = self.next_frame()
            assert frame is not None, "the agent ended before EXIT"
            kind, payload = frame
            if kind in out:
                out[kind] += payload
                continue
            assert kind == Kind.EXIT, frame
            result = self.verifier.verify(payload)
            assert result is not None, "the EXIT did not verify"
            return out, decode_json(result)

    def detach(self, timeout_s: float = 10) -> int:
        """Close the control stream, as the server does at the end of a session; the agent's exit code."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout_s)

    def __enter__(self) -> AgentProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    """An agent that said READY and holds the key; at the end it must leave cleanly when detached."""
    with AgentProcess(tmp_path) as running:
        assert running.expect(Kind.READY) == {"isolation": "container"}
        running.send(Kind.KEY, KEY)
        yield running
        assert running.detach() == 0
        assert running.process.stderr is not None
        assert running.process.stderr.read() == b""


def gone(pid: int, within_s: float = 2) -> bool:
    """The process ends within a moment (it closes its descriptors a little before it is dead; a zombie
    waiting for the host's init counts as ended)."""
    try:
        asyncio.run(eventually(lambda: ended(pid), within_s, f"process {pid} ended"))
    except AssertionError:
        return False
    return True


def ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_files_then_a_program_give_its_output_and_an_authentic_exit(agent: AgentProcess, tmp_path: Path) -> None:
    agent.send_json(Kind.FILES, {"files": [{"name": "src/hi.txt", "content": "hi from a file\n"}]})
    assert agent.expect(Kind.DONE) == {}
    assert (tmp_path / "src/hi.txt").read_text() == "hi from a file\n"
    agent.exec("/bin/sh", "-c", "cat src/hi.txt; echo hi")
    out, report = agent.until_exit()
    assert out == {Kind.STDOUT: b"hi from a file\nhi\n", Kind.STDERR: b""}
    assert report["code"] == 0 and report["signal"] is None
    assert report["cpu_ms"] is not None and report["memory_bytes"] > 0 and report["wall_ms"] >= 0
    assert "oom" in report


def test_each_stage_signs_its_own_exit_so_an_earlier_one_cannot_be_replayed(agent: AgentProcess) -> None:
    agent.exec("/bin/sh", "-c", "exit 3")
    assert agent.until_exit()[1]["code"] == 3
    stale = ExitVerifier(KEY)
    stale.begin_stage()
    agent.exec("/bin/true")
    frame = agent.next_frame()
    assert frame is not None and frame[0] == Kind.EXIT
    assert stale.verify(frame[1]) is None  # signed for stage 2, not 1
    assert agent.verifier.verify(frame[1]) is not None


def test_input_reaches_the_program_and_eof_ends_it(agent: AgentProcess) -> None:
    agent.exec("/bin/cat")
    agent.send(Kind.STDIN, b"typed ")
    agent.send(Kind.STDIN, b"text\n")
    agent.send(Kind.EOF)
    out, report = agent.until_exit()
    assert out[Kind.STDOUT] == b"typed text\n" and report["code"] == 0


def test_a_signal_reaches_the_program_at_once_after_exec(agent: AgentProcess) -> None:
    agent.exec("/bin/sleep", "30")
    agent.send_json(Kind.SIGNAL, {"signal": signal.SIGTERM})
    _, report = agent.until_exit()
    assert report["code"] is None and report["signal"] == "SIGTERM" and report["wall_ms"] < 5000


def test_a_ping_is_answered_at_once_while_a_silent_program_runs_and_between_stages(agent: AgentProcess) -> None:
    agent.send(Kind.PING)
    assert agent.next_frame(timeout_s=2) == (Kind.PONG, b"")
    agent.exec("/bin/sleep", "30")
    started = time.monotonic()
    agent.send(Kind.PING)
    assert agent.next_frame(timeout_s=2) == (Kind.PONG, b"")
    assert time.monotonic() - started < 1, "the answer does not wait for the program"
    agent.send(Kind.KILL)
    assert agent.until_exit()[1]["signal"] == "SIGKILL"


def test_kill_ends_the_stage(agent: AgentProcess) -> None:
    agent.exec("/bin/sleep", "30")
    agent.send(Kind.PING)  # a marker: the agent answers it after it has started the program
    assert agent.next_frame(timeout_s=2) == (Kind.PONG, b"")
    agent.send(Kind.KILL)
    assert agent.until_exit()[1]["signal"] == "SIGKILL"


def test_a_terminal_stage_follows_resize(agent: AgentProcess) -> None:
    script = "import os; print(tuple(os.get_terminal_size(0))); input(); print(tuple(os.get_terminal_size(0)))"
    agent.exec(sys.executable, "-c", script, tty=True, cols=100, rows=30)
    first = agent.next_frame()
    assert first == (Kind.STDOUT, b"(100, 30)\r\n")
    agent.send_json(Kind.RESIZE, {"cols": 132, "rows": 43})
    agent.send(Kind.STDIN, b"\n")
    out, report = agent.until_exit()
    assert out[Kind.STDOUT] == b"\r\n(132, 43)\r\n" and report["code"] == 0


def test_a_background_child_neither_holds_up_the_exit_nor_outlives_the_stage(agent: AgentProcess) -> None:
    started = time.monotonic()
    agent.exec("/bin/sh", "-c", "sleep 30 & echo $!")
    out, report = agent.until_exit()
    assert report["code"] == 0 and time.monotonic() - started < 3
    assert gone(int(out[Kind.STDOUT]))


def test_a_flood_arrives_whole_in_frames_of_at_most_64_kib(agent: AgentProcess) -> None:
    size = 3_000_000
    agent.exec("/usr/bin/head", "-c", str(size), "/dev/zero")
    time.sleep(0.3)  # the scenario: a reader that falls behind while the agent's outbox fills
    total = 0
    while True:
        frame = agent.next_frame()
        assert frame is not None
        if frame[0] == Kind.EXIT:
            break
        assert frame[0] == Kind.STDOUT and 0 < len(frame[1]) <= 65536
        total += len(frame[1])
    assert total == size


def test_a_second_exec_while_one_runs_fails_and_keeps_the_stage_counts_in_step(agent: AgentProcess) -> None:
    agent.exec("/bin/sleep", "0.3")
    agent.exec("/bin/true")
    assert agent.expect(Kind.FAIL) == {"message": "a process is already running"}
    out, report = agent.until_exit()  # the verifier counted both EXECs, as the agent did
    assert report["code"] == 0


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        (Kind.FILES, b"{not json", "could not write the source files: control payload is not valid JSON"),
        (Kind.FILES, b'{"files": [{"name": "../x", "content": ""}]}', "must not contain '..', '.' or empty path"),
        (Kind.FILES, b'{"files": [{"name": "x"}]}', "string 'name' and a string 'content'"),
        (Kind.EXEC, b"\xff", "malformed EXEC frame: control payload is not UTF-8"),
        (Kind.EXEC, b"[]", "malformed EXEC frame: control payload is a JSON list, not an object"),
        (Kind.EXEC, b"{}", "malformed EXEC frame: field 'argv' must be a non-empty list of strings"),
        (Kind.EXEC, b'{"argv": ["/bin/true"], "cols": "wide"}', "field 'cols' must be an integer"),
        (Kind.SIGNAL, b"{}", "malformed SIGNAL frame: field 'signal' must be a signal number"),
        (Kind.SIGNAL, b'{"signal": 999}', "field 'signal' must be a signal number"),
        (Kind.RESIZE, b'{"cols": 80}', "malformed RESIZE frame: fields 'cols' and 'rows' must be integers"),
        (Kind.KEY, b"other", None),  # a second key is ignored, never a FAIL
        (Kind.READY, b"{}", "the agent does not take READY frames"),
    ],
)
def test_a_malformed_frame_is_a_fail_and_the_agent_goes_on(
    agent: AgentProcess, kind: Kind, payload: bytes, message: str | None
) -> None:
    agent.send(kind, payload)
    if message is not None:
        assert message in agent.expect(Kind.FAIL)["message"]
    agent.exec("/bin/echo", "still here")
    out, report = agent.until_exit()  # signed with the first key: the second was not taken
    assert out[Kind.STDOUT] == b"still here\n" and report["code"] == 0


def test_a_program_that_cannot_start_is_an_exit_127_with_the_reason(agent: AgentProcess) -> None:
    agent.exec("/no/such/compiler")
    out, report = agent.until_exit()
    assert report["code"] == 127 and b"cannot start /no/such/compiler" in out[Kind.STDERR]


def test_no_program_runs_before_the_key(tmp_path: Path) -> None:
    with AgentProcess(tmp_path) as agent:
        agent.expect(Kind.READY)
        agent.exec("/bin/true")
        assert "EXEC before KEY" in agent.expect(Kind.FAIL)["message"]
        assert agent.detach() == 0


def test_a_garbled_control_stream_is_a_fail_then_the_end(tmp_path: Path) -> None:
    with AgentProcess(tmp_path) as agent:
        agent.expect(Kind.READY)
        agent.send_raw(HEADER.pack(200, 0))
        assert "garbled control stream: unknown frame kind 200" in agent.expect(Kind.FAIL)["message"]
        assert agent.next_frame() is None
        assert agent.process.wait(10) == 0


def test_when_the_server_detaches_the_running_program_is_killed(agent: AgentProcess) -> None:
    agent.exec("/bin/sh", "-c", "echo $$; exec sleep 30")
    frame = agent.next_frame()
    assert frame is not None and frame[0] == Kind.STDOUT
    pid = int(frame[1])
    assert agent.detach() == 0
    assert gone(pid)


def test_the_control_and_output_streams_must_differ() -> None:
    from padbox_agent.loop import Agent, kill_group

    with pytest.raises(ValueError):
        Agent(0, 0, "/tmp", kill_group)


def test_input_frames_are_encoded_as_the_server_sends_them() -> None:
    assert encode_json(Kind.SIGNAL, {"signal": 2})[HEADER.size :] == b'{"signal": 2}'
