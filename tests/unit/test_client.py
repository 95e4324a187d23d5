"""padbox.client against a scripted local WebSocket server: what it sends parses as the server's protocol,
frames are stamped from `run`, and the close is recorded. No Docker, no padbox server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve

from padbox.client import Client, ClosedEarly, Frame, Transcript, connect, run_program
from padbox.core import events, protocol
from padbox.core.events import Error, Exited, Stderr, Stdout
from padbox.core.protocol import Role, Signal, Stage, Verdict

Handler = Callable[[ServerConnection], Awaitable[None]]
Start = Callable[[Handler], Awaitable[str]]


@pytest.fixture
async def scripted() -> AsyncIterator[Start]:
    """Start a local server that plays a given handler; yields a function returning its URL."""
    servers = []

    async def start(handler: Handler) -> str:
        server = await serve(handler, "127.0.0.1", 0)
        servers.append(server)
        port = next(iter(server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def run_exit(verdict: Verdict = Verdict.OK) -> str:
    return events.encode(Exited(Stage.RUN, 0, None, verdict, 5, 4, 1024))


async def test_every_message_the_client_sends_parses_as_the_servers_protocol(scripted: Start) -> None:
    received = []
    done = asyncio.Event()

    async def record(ws: ServerConnection) -> None:
        async for text in ws:
            received.append(protocol.parse_client_message(str(text)))
        done.set()

    url = await scripted(record)
    async with connect(url) as ws:
        client = Client(ws)
        await client.run(language="python", source="print(1)", tty=True)
        await client.stdin("Ada\n")
        await client.resize(120, 40)
        await client.signal(Signal.SIGINT)
        await client.eof()
        await client.join("5ea288b486136400", "key", Role.VIEWER)
    await asyncio.wait_for(done.wait(), 5)
    assert isinstance(received[0], protocol.RunRequest) and received[0].source == "print(1)" and received[0].tty
    assert received[1:] == [
        protocol.StdinMessage("Ada\n"),
        protocol.ResizeMessage(120, 40),
        protocol.SignalMessage(Signal.SIGINT),
        protocol.EofMessage(),
        protocol.JoinMessage("5ea288b486136400", "key", Role.VIEWER),
    ]


async def test_frames_are_stamped_from_the_run_and_the_close_code_is_kept(scripted: Start) -> None:
    async def program(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(events.encode(Stdout(Stage.RUN, "first\n")))
        await asyncio.sleep(0.2)  # the scenario: the frames leave apart, so their stamps must differ
        await ws.send(events.encode(Stderr(Stage.RUN, "second\n")))
        await ws.send(run_exit())
        await ws.close(1000)

    t = await run_program(await scripted(program), language="python", source="")
    assert [f.type for f in t.frames] == ["stdout", "stderr", "exit"]
    assert 0 <= t.frames[0].at < t.frames[1].at - 0.15, "seconds since `run`, as they arrived"
    assert t.text() == "first\n" and t.text("stderr", "run") == "second\n" and t.text("stdout", "compile") == ""
    assert t.verdict == "ok" and list(t.exits()) == ["run"]
    assert t.closed and t.close_code == 1000 and t.closed_cleanly


async def test_a_token_travels_in_the_authorization_header_not_the_url(scripted: Start) -> None:
    seen = []

    async def note(ws: ServerConnection) -> None:
        assert ws.request is not None
        seen.append((ws.request.path, ws.request.headers.get("Authorization")))
        await ws.recv()
        await ws.close(1000)

    t = await run_program(await scripted(note), token="s3cret", language="python", source="")
    assert seen == [("/ws", "Bearer s3cret")] and t.close_code == 1000


async def test_waiting_for_a_frame_that_never_comes_ends_when_the_socket_closes(scripted: Start) -> None:
    async def refuse(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(events.encode(Error(protocol.ErrorCode.BUSY, "full", retry_after_s=1)))
        await ws.close(1013)

    async with connect(await scripted(refuse)) as ws:
        client = Client(ws)
        await client.run(language="python", source="")
        with pytest.raises(ClosedEarly):
            await client.until(lambda f: f.type == "stdout")
    t = client.transcript
    assert t.error["code"] == "busy" and t.close_code == 1013 and t.closed and not t.closed_cleanly


async def test_a_client_that_keeps_no_frames_still_sees_each_and_the_close(scripted: Start) -> None:
    async def program(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(run_exit(Verdict.KILLED))
        await ws.close(1000)

    async with connect(await scripted(program)) as ws:
        client = Client(ws, keep_frames=False)
        await client.run(language="python", source="")
        frame = await client.next()
        assert frame is not None and frame.message["verdict"] == "killed"
        assert await client.next() is None
    assert client.transcript.frames == [] and client.transcript.closed_cleanly


def test_an_empty_transcript_has_no_verdict_and_no_error() -> None:
    t = Transcript()
    assert t.verdict is None and t.run_id is None and t.first("stdout") is None and not t.closed_cleanly
    with pytest.raises(LookupError):
        t.error  # noqa: B018


def test_first_and_last_find_frames_of_a_kind() -> None:
    t = Transcript(
        [
            Frame(0.1, {"type": "started", "id": "abc"}),
            Frame(0.2, {"type": "stdout", "data": "a"}),
            Frame(0.3, {"type": "stdout", "data": "b"}),
        ]
    )
    first, last = t.first("stdout"), t.last("stdout")
    assert t.run_id == "abc" and first is not None and last is not None and (first.at, last.at) == (0.2, 0.3)
