"""The live core end to end: a real server process, a real Docker engine, the real runner image."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time

import pytest

from padbox.client import Client, connect, run_program
from tests.conftest import PRINT_HOST, ServerProcess, created_since, docker_containers, instance_name, run_processes
from tests.eventually import eventually

pytestmark = pytest.mark.docker


async def test_output_arrives_before_program_exits(ws_url: str) -> None:
    source = "import time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second')\n"
    t = await run_program(ws_url, language="python", source=source)
    first = next(f for f in t.frames if f.type == "stdout" and "first" in f.message["data"])
    exit_frame = next(f for f in t.frames if f.type == "exit")
    assert exit_frame.at - first.at >= 1.5
    assert t.text() == "first\nsecond\n"
    assert t.verdict == "ok"
    assert t.close_code == 1000


async def test_started_and_stage_frames_describe_the_run(ws_url: str) -> None:
    t = await run_program(ws_url, language="py", source="print(1)")
    started = t.of("started")[0]
    assert started["language"] == "python" and started["id"] and started["version"][0].isdigit()
    assert [m["stage"] for m in t.of("stage")] == ["run"]
    result = t.exits()["run"]
    assert result["code"] == 0 and result["signal"] is None
    assert result["wall_ms"] >= 0 and result["cpu_ms"] is not None and result["memory_bytes"] > 0


async def test_interactive_program_answers_what_was_typed(ws_url: str) -> None:
    source = "name = input('What is your name? ')\nprint(f'Hello, {name}!')\n"
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source=source)
        await client.until_output("What is your name? ")
        await client.stdin("Ada\n")
        t = await client.collect()
    assert t.text() == "What is your name? Hello, Ada!\n"
    assert t.verdict == "ok"


async def test_initial_stdin_is_read_before_typed_input(ws_url: str) -> None:
    source = "print(input() + input())"
    t = await run_program(ws_url, {"type": "stdin", "data": "b\n"}, language="python", source=source, stdin="a\n")
    assert t.text() == "ab\n"


async def test_eof_ends_a_program_reading_to_end_of_input(ws_url: str) -> None:
    source = "import sys\ndata = sys.stdin.read()\nprint(len(data.split()), 'words')\n"
    t = await run_program(
        ws_url, {"type": "stdin", "data": "one two\nthree"}, {"type": "eof"}, language="python", source=source
    )
    assert t.text() == "3 words\n"
    assert t.verdict == "ok"


async def test_tty_mode_is_a_terminal_that_follows_resize(ws_url: str) -> None:
    source = (
        "import os, signal, subprocess\n"
        "signal.signal(signal.SIGWINCH, lambda *_: print('resized', flush=True))\n"
        "print('tty', os.isatty(0), os.isatty(1))\n"
        "print('size', subprocess.run(['stty', 'size'], capture_output=True, text=True).stdout.strip())\n"
        "input('resize me> ')\n"
        "print('size', subprocess.run(['stty', 'size'], capture_output=True, text=True).stdout.strip())\n"
    )
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source=source, tty=True, cols=80, rows=24)
        await client.until_output("resize me> ")
        await client.resize(120, 40)
        await client.until_output("resized")  # the terminal has its new size before the program asks again
        await client.stdin("\r")
        t = await client.collect()
    out = t.text()
    assert "tty True True" in out
    assert "size 24 80" in out and "size 40 120" in out
    assert not t.of("stderr"), "in tty mode all output is stdout"


async def test_prompt_without_newline_appears_at_once_in_tty_mode(ws_url: str) -> None:
    source = (
        '#include <stdio.h>\nint main(void){ char b[64]; printf("name> "); scanf("%63s", b); printf("hi %s\\n", b); }'
    )
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(language="c", source=source, tty=True)
        await client.until_output("name> ")  # C's stdout is line-buffered on a terminal: no newline needed
        await client.stdin("bob\r")
        t = await client.collect()
    assert "hi bob" in t.text()


async def test_c_compile_error_ends_the_session_without_a_run_stage(ws_url: str) -> None:
    t = await run_program(ws_url, language="c", source="int main(void) { return missing; }\n")
    assert [m["stage"] for m in t.of("stage")] == ["compile"]
    assert "missing" in t.text("stderr", stage="compile") and "error" in t.text("stderr", stage="compile")
    assert list(t.exits()) == ["compile"]
    assert t.verdict == "compile_error"
    assert t.close_code == 1000


async def test_exit_code_three_is_a_runtime_error_with_code_three(ws_url: str) -> None:
    t = await run_program(ws_url, language="c", source="int main(void) { return 3; }\n")
    assert t.exits()["compile"]["verdict"] == "ok"
    run = t.exits()["run"]
    assert (run["verdict"], run["code"], run["signal"]) == ("runtime_error", 3, None)


async def test_args_reach_the_program_unchanged(ws_url: str) -> None:
    t = await run_program(
        ws_url, language="python", source="import sys; print(sys.argv[1:])", args=["a b", "$HOME", "'; rm -rf /"]
    )
    assert t.text() == "['a b', '$HOME', \"'; rm -rf /\"]\n"


async def test_infinite_loop_times_out_at_the_wall_clock_limit(ws_url: str) -> None:
    t = await run_program(
        ws_url,
        language="python",
        source="print('spinning', flush=True)\nwhile True: pass\n",
        limits={"run_timeout_s": 2},
    )
    run = next(f for f in t.frames if f.type == "exit")
    stage = next(f for f in t.frames if f.type == "stage")
    assert t.verdict == "timeout"
    assert run.at - stage.at < 4
    assert t.text() == "spinning\n", "output produced before the timeout is delivered"


async def test_sleeping_program_times_out(ws_url: str) -> None:
    t = await run_program(ws_url, language="bash", source="sleep 100", limits={"run_timeout_s": 1})
    assert t.verdict == "timeout"


async def test_cpu_time_limit_gives_timeout(ws_url: str) -> None:
    t = await run_program(
        ws_url, language="python", source="while True: pass", limits={"cpu_time_s": 1, "run_timeout_s": 20}
    )
    assert t.verdict == "timeout"
    assert t.exits()["run"]["wall_ms"] < 10_000


async def test_allocating_past_the_memory_limit_gives_memory_limit(ws_url: str) -> None:
    source = "x = []\nwhile True:\n    x.append(bytearray(8 * 1024 * 1024))\n"
    t = await run_program(ws_url, language="python", source=source, limits={"memory_mb": 64})
    assert t.verdict == "memory_limit"


async def test_output_flood_stops_at_the_output_cap(ws_url: str) -> None:
    t = await run_program(ws_url, language="bash", source="yes", limits={"output_kb": 8})
    assert t.verdict == "output_limit"
    assert 0 < len(t.text().encode()) <= 8 * 1024


async def test_multibyte_character_split_across_reads_arrives_whole(ws_url: str) -> None:
    source = (
        "import sys, time\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'caf\\xc3'); out.flush(); time.sleep(0.3)\n"
        "out.write(b'\\xa9 \\xe2\\x82'); out.flush(); time.sleep(0.3)\n"
        "out.write(b'\\xac \\xff!\\n'); out.flush()\n"
    )
    t = await run_program(ws_url, language="python", source=source)
    assert t.text() == "café € \ufffd!\n"
    assert len(t.of("stdout")) >= 2, "the bytes really did arrive in separate reads"


async def test_sigint_from_the_client_ends_the_program_as_killed(ws_url: str) -> None:
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source="print('ready', flush=True)\nwhile True: pass\n")
        await client.until_output("ready")
        await client.signal("SIGINT")
        t = await client.collect(timeout=10)
    assert t.verdict == "killed"
    assert t.exits()["run"]["signal"] == "SIGINT"


async def test_program_that_handles_sigint_and_exits_cleanly_is_ok(ws_url: str) -> None:
    source = (
        "import signal, sys, time\nsignal.signal(signal.SIGINT, lambda *a: sys.exit(0))\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source=source)
        await client.until_output("ready")
        await client.signal("SIGINT")
        t = await client.collect(timeout=10)
    assert t.verdict == "ok"


async def test_client_disconnect_mid_run_removes_the_container(server: ServerProcess) -> None:
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.run(
            language="python", source=f"{PRINT_HOST}print('up', flush=True)\nimport time\ntime.sleep(60)\n"
        )
        await client.until_output("up")
        host = client.transcript.text().split()[0]
        assert run_processes(host), "the run has a container while it runs"
    # a run whose client left mid-run is never renewed: its container goes
    await eventually(lambda: run_processes(host) is None, 10, "the abandoned run's container removed")


async def test_container_carries_the_session_label_and_hardening(server: ServerProcess) -> None:
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.run(language="bash", source="echo up; sleep 30", limits={"memory_mb": 100, "pids": 50})
        started = await client.until(lambda f: f.type == "started")
        await client.until_output("up")
        (container,) = server.containers(started.message["id"])
        raw = subprocess.run(["docker", "inspect", container], capture_output=True, check=True).stdout
        inspect = json.loads(raw)[0]
        await client.signal("SIGKILL")
        await client.collect(timeout=10)
    host = inspect["HostConfig"]
    assert inspect["Config"]["Labels"]["padbox.session"] == started.message["id"]
    assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"]
    assert "no-new-privileges" in host["SecurityOpt"] and not host["Init"], "the agent itself is pid 1"
    assert host["Memory"] == host["MemorySwap"] == 100 * 1024 * 1024
    assert host["PidsLimit"] == 50
    assert host["LogConfig"]["Type"] == "none"
    assert inspect["Config"]["User"] == "1000:1000"
    assert {u["Name"] for u in host["Ulimits"]} >= {"nofile", "fsize"}


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("this is not json", "not valid JSON"),
        (b"\x00binary", "binary"),
        ({"type": "dance"}, "unknown message type"),
        ({"type": "stdin", "data": "x"}, "first message must be a 'run'"),
        ({"type": "run", "language": "python", "files": [{"name": "../escape.py", "content": ""}]}, ".."),
        ({"type": "run", "language": "python", "files": [{"name": "/etc/passwd", "content": ""}]}, "relative"),
        ({"type": "run", "language": "python", "files": [{"name": "", "content": ""}]}, "empty"),
        ({"type": "run", "language": "python", "files": [{"name": "a\u0000b", "content": ""}]}, "NUL"),
        ({"type": "run", "language": "python", "source": 5}, "'source' must be a string"),
        ({"type": "run", "source": "x"}, "'language' is required"),
    ],
)
async def test_bad_first_message_gets_bad_request_and_no_container(
    server: ServerProcess, frame: object, expected: str
) -> None:
    since = time.time()
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.send(frame)  # type: ignore[arg-type]
        t = await client.collect(timeout=10)
    assert t.error["code"] == "bad_request"
    assert expected in t.error["message"]
    assert t.close_code == 1008
    assert created_since(server.instance, since) == 0


async def test_unknown_language_names_the_valid_ones(server: ServerProcess) -> None:
    since = time.time()
    t = await run_program(server.ws_url, language="brainfudge", source="+")
    assert t.error["code"] == "unknown_language"
    assert "python" in t.error["message"] and "c" in t.error["message"]
    assert created_since(server.instance, since) == 0


@pytest.mark.parametrize(
    "limits",
    [{"memory_mb": 10**6}, {"run_timeout_s": -1}, {"pids": "many"}, {"pids": 1.5}, {"walltime": 3}],
)
async def test_limits_past_the_maxima_or_malformed_are_refused(
    server: ServerProcess, limits: dict[str, object]
) -> None:
    since = time.time()
    t = await run_program(server.ws_url, language="python", source="print(1)", limits=limits)
    assert t.error["code"] == "limit_exceeded"
    assert next(iter(limits)) in t.error["message"]
    assert created_since(server.instance, since) == 0


async def test_second_run_message_is_a_protocol_violation(server: ServerProcess) -> None:
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.run(language="bash", source="echo up; sleep 30")
        await client.until_output("up")
        await client.send({"type": "run", "language": "bash", "source": "echo again"})
        t = await client.collect(timeout=10)
    assert t.error["code"] == "bad_request" and "already" in t.error["message"]
    assert t.close_code == 1008
    run_id = t.of("started")[0]["id"]
    await eventually(lambda: server.containers(run_id) == [], 10, "the broken run's container removed")


async def test_message_over_the_size_cap_closes_with_1009_and_no_container(server: ServerProcess) -> None:
    since = time.time()
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source="#" * (2 * 1024 * 1024))
        t = await client.collect(timeout=10)
    assert t.close_code == 1009
    assert created_since(server.instance, since) == 0


async def test_bad_message_mid_run_gets_an_error_and_ends_the_run(server: ServerProcess) -> None:
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.run(language="bash", source="echo up; sleep 30")
        await client.until_output("up")
        await client.send({"type": "signal", "signal": "SIGSTOP"})
        t = await client.collect(timeout=10)
    assert t.error["code"] == "bad_request" and "SIGINT" in t.error["message"]
    assert t.close_code == 1008


async def test_socket_that_never_sends_run_is_closed(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.conftest import start_server

    srv = start_server(
        tmp_path_factory.mktemp("deadline"), instance_name("pytest-deadline"), PADBOX_FIRST_MESSAGE_TIMEOUT_S="1"
    )
    try:
        async with connect(srv.ws_url) as ws:
            client = Client(ws)
            t = await client.collect(timeout=10)
        assert t.error["code"] == "bad_request" and "no 'run' message within 1 s" in t.error["message"]
        assert t.close_code == 1008
    finally:
        srv.stop()


async def test_sigterm_tells_running_sessions_and_removes_their_containers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from tests.conftest import start_server

    instance = instance_name("pytest-shutdown")
    srv = start_server(tmp_path_factory.mktemp("shutdown"), instance)
    async with connect(srv.ws_url) as ws:
        client = Client(ws)
        await client.run(language="bash", source="echo up; sleep 60")
        await client.until_output("up")
        assert srv.containers()
        stopped_at = time.monotonic()
        srv.process.terminate()
        t = await client.collect(timeout=15)
        await asyncio.to_thread(srv.process.wait, 15)
        took = time.monotonic() - stopped_at
    assert t.error["code"] == "internal" and "shutting down" in t.error["message"]
    assert took < 10
    assert docker_containers(instance) == []


async def test_start_up_removes_containers_a_crashed_server_left(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.conftest import start_server

    instance = instance_name("pytest-crashed")
    subprocess.run(
        [
            "docker",
            "create",
            "--label",
            f"padbox.instance={instance}",
            "--label",
            "padbox.session=orphan",
            os.environ.get("PADBOX_IMAGE", "padbox-runner:latest"),
            "sleep",
            "60",
        ],
        capture_output=True,
        check=True,
    )
    assert docker_containers(instance)
    srv = start_server(tmp_path_factory.mktemp("crashed"), instance)
    try:
        await eventually(lambda: docker_containers(instance, "orphan") == [], 10, "the orphan removed")
    finally:
        srv.stop()
