"""Protocol abuse: oversized, fragmented and compressed-bomb messages, malformed and wrongly typed fields,
limits past the maxima, sockets that never speak, and a client that stops reading while its program floods."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from padbox.client import Client, connect
from tests.conftest import created_since
from tests.eventually import eventually
from tests.security.target import SLACK_S, Target, memory_kb

pytestmark = pytest.mark.docker

SLEEPER = "import time\nprint('up', flush=True)\ntime.sleep(60)\n"
FLOOD = "import sys\nchunk = b'x' * 65536\nwhile True:\n    sys.stdout.buffer.write(chunk)\n"
CAP = 1024 * 1024  # PADBOX_MAX_MESSAGE_KB's default


async def test_input_past_the_size_cap_mid_run_closes_1009_and_ends_the_run(target: Target) -> None:
    async with connect(target.ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source=SLEEPER)
        await client.until_output("up")
        await client.stdin("x" * (2 * CAP))
        t = await client.collect(timeout=15)
    assert t.close_code == 1009
    await target.survived(t)


async def test_a_fragmented_message_past_the_cap_closes_1009(target: Target) -> None:
    async def fragments() -> AsyncIterator[str]:
        yield '{"type": "run", "language": "python", "source": "'
        for _ in range(24):  # 1.5 MB in 64 kB fragments, paced so the server reads as they come
            await asyncio.sleep(0.01)
            yield "#" * 65536
        yield '"}'

    since = time.time()
    async with connect(target.ws_url) as ws:
        client = Client(ws)
        try:
            await ws.send(fragments())
        except websockets.ConnectionClosed:
            pass  # refused before the last fragment
        t = await client.collect(timeout=15)
    assert t.close_code == 1009
    assert created_since(target.server.instance, since) == 0
    await target.survived(t)


async def test_a_compressed_bomb_is_refused_without_inflating_it(target: Target) -> None:
    """256 MB of one character deflates to a few hundred kB on the wire; the server must stop at its cap."""
    since = time.time()
    before_kb = memory_kb(target.server.process.pid, "VmHWM")
    async with connect(target.ws_url, compression="deflate") as ws:
        assert ws.response.headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate")
        client = Client(ws)
        bomb = '{"type": "run", "language": "python", "source": "' + "#" * (256 << 20) + '"}'
        try:
            await ws.send(bomb)
        except websockets.ConnectionClosed:
            pass  # the server may close before the whole message has gone out
        t = await client.collect(timeout=30)
    assert t.close_code == 1009
    assert (memory_kb(target.server.process.pid, "VmHWM") - before_kb) * 1024 < 64 << 20
    assert created_since(target.server.instance, since) == 0
    await target.survived(t)


def nested(depth: int) -> str:
    return '{"type": "run", "language": "python", "source": "1", "limits": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        pytest.param(nested(200_000), "bad_request", id="deeply nested JSON"),
        pytest.param("[]", "bad_request", id="a JSON array"),
        pytest.param("null", "bad_request", id="JSON null"),
        # NaN is not JSON, and a number past a double's range is refused while decoding: neither reaches limits.
        pytest.param(
            '{"type": "run", "language": "python", "source": "1", "limits": {"memory_mb": NaN}}',
            "bad_request",
            id="NaN limit",
        ),
        pytest.param(
            '{"type": "run", "language": "python", "source": "1", "limits": {"run_timeout_s": 1e999}}',
            "bad_request",
            id="infinite limit",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "limits": {"pids": 10**400}},
            "limit_exceeded",
            id="400-digit limit",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "limits": {"memory_mb": {"$gt": 0}}},
            "limit_exceeded",
            id="object as a limit",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "limits": {"pids": 8, "output_kb": 0}},
            "limit_exceeded",
            id="limit below its minimum",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "limits": []}, "bad_request", id="limits as a list"
        ),
        pytest.param({"type": "run", "language": ["python"], "source": "1"}, "bad_request", id="language as a list"),
        pytest.param(
            {"type": "run", "language": "python", "files": {"main.py": "1"}}, "bad_request", id="files as an object"
        ),
        pytest.param(
            {"type": "run", "language": "python", "files": [{"name": "m.py", "content": 1}]},
            "bad_request",
            id="content as a number",
        ),
        pytest.param(
            {"type": "run", "language": "python", "files": [{"name": f"f{i}.py", "content": ""} for i in range(1000)]},
            "bad_request",
            id="a thousand files",
        ),
        pytest.param(
            {"type": "run", "language": "python", "files": [{"name": "a" * 5000, "content": ""}]},
            "bad_request",
            id="a 5000-character file name",
        ),
        pytest.param(
            {"type": "run", "language": "python", "files": [{"name": "a/../../etc/x", "content": ""}]},
            "bad_request",
            id="a name climbing out",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "args": ["a\u0000b"]},
            "bad_request",
            id="NUL in an argument",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "args": ["x"] * 10_000},
            "bad_request",
            id="ten thousand arguments",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "tty": "yes"}, "bad_request", id="tty as a string"
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "tty": True, "cols": 10**9},
            "bad_request",
            id="a billion columns",
        ),
        pytest.param(
            {"type": "run", "language": "python", "source": "1", "stdin": ["a"]}, "bad_request", id="stdin as a list"
        ),
        pytest.param({"language": "python", "source": "1"}, "bad_request", id="no type"),
        pytest.param({"type": "RUN\u0000", "language": "python", "source": "1"}, "bad_request", id="a NUL type"),
    ],
)
async def test_malformed_first_messages_are_refused_before_any_container(target: Target, frame: Any, code: str) -> None:
    since = time.time()
    async with connect(target.ws_url) as ws:
        client = Client(ws)
        await client.send(frame)
        t = await client.collect(timeout=15)
    assert t.error["code"] == code, t.error
    assert t.close_code == 1008
    assert created_since(target.server.instance, since) == 0
    assert target.server.process.poll() is None


def raw_websocket(target: Target, receive_buffer: int | None = None) -> socket.socket:
    """A WebSocket opened by hand, so the test decides exactly what is sent and what is ever read."""
    host, port = "127.0.0.1", target.server.port
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws?token={target.token} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert b" 101 " in response
    return sock


def text_frame(text: str) -> bytes:
    data, mask = text.encode(), os.urandom(4)
    length = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    return bytes([0x81]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def read_text_frame(sock: socket.socket) -> str:
    """One short unmasked server frame (the `started` message), read byte by byte so nothing more is taken."""
    header = sock.recv(2, socket.MSG_WAITALL)
    length = header[1] & 0x7F
    if length == 126:
        length = int.from_bytes(sock.recv(2, socket.MSG_WAITALL), "big")
    return sock.recv(length, socket.MSG_WAITALL).decode()


def raw_socket_stuck_mid_frame(target: Target) -> socket.socket:
    """A client that completes the handshake, then sends part of a frame header and nothing more."""
    sock = raw_websocket(target)
    sock.sendall(bytes([0x81, 0x80 | 126]) + (1000).to_bytes(2, "big") + os.urandom(4) + b"{")
    return sock


def closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Whether the server sent a close frame with 1008 (policy) or dropped the connection by the deadline."""
    received = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return False
        except OSError:
            return True
        if not data:
            return True
        received += data
        if re.search(rb"\x88[\x02-\x7d]\x03\xf0", received):  # a close frame, code 1008
            return True
    return False


async def test_idle_sockets_are_closed_after_10_s_while_others_run(target: Target) -> None:
    """Many sockets that never send `run` (one stuck half-way through a frame) cost nothing lasting:
    a normal run works among them, and every one is closed at the 10 s deadline."""
    opened_at = time.monotonic()
    idle = [await connect(target.ws_url).__aenter__() for _ in range(100)]
    stuck = await asyncio.to_thread(raw_socket_stuck_mid_frame, target)
    try:
        await target.survived()  # while they all hang
        transcripts = await asyncio.gather(*(Client(ws).collect(timeout=15) for ws in idle))
        took = time.monotonic() - opened_at
        assert all(t.close_code == 1008 and "no 'run' message" in t.error["message"] for t in transcripts)
        assert 9 < took < 10 + SLACK_S
        assert await asyncio.to_thread(closed_by_server, stuck, opened_at + 10 + SLACK_S)
    finally:
        stuck.close()
        await asyncio.gather(*(ws.close() for ws in idle), return_exceptions=True)
    await target.survived()


@pytest.fixture(scope="module")
async def non_reader(target: Target) -> AsyncIterator[tuple[str, float]]:
    """A client whose program floods output while the client reads nothing at all after `started` (and has
    a 4 kB receive buffer): the run's id and when its run began. The socket is closed at the end."""
    sock = await asyncio.to_thread(raw_websocket, target, 4096)
    run = {"type": "run", "language": "python", "source": FLOOD, "limits": {"output_kb": 65536, "run_timeout_s": 3}}
    before_kb = memory_kb(target.server.process.pid, "VmHWM")
    await asyncio.to_thread(sock.sendall, text_frame(json.dumps(run)))
    started = json.loads(await asyncio.to_thread(read_text_frame, sock))
    assert started["type"] == "started"
    yield str(started["id"]), time.monotonic()
    grown = (memory_kb(target.server.process.pid, "VmHWM") - before_kb) * 1024
    assert grown < 32 << 20, f"the server buffered {grown >> 20} MB for a client that stopped reading"
    sock.close()
    await target.survived()


async def test_a_client_that_stops_reading_cannot_hold_a_running_sandbox(
    target: Target, non_reader: tuple[str, float]
) -> None:
    run_id, began = non_reader
    await asyncio.sleep(max(0, began + 3 - time.monotonic()))  # the run's time limit passes, nothing read
    assert not await target.containers_gone(within=1 + SLACK_S), "the sandbox outlived its time limit"


async def test_a_client_that_stops_reading_is_dropped_so_its_session_ends(
    target: Target, non_reader: tuple[str, float]
) -> None:
    run_id, began = non_reader
    within = began + 3 + 10 + SLACK_S - time.monotonic()
    ended = f'"id": "{run_id}"'  # the session's end, logged
    await eventually(lambda: ended in target.server.log(), within, "the session of a client that reads nothing ended")
