"""The /ws endpoint: a thin translation between one WebSocket and one participation in a run.

The first message decides the socket's part: `run` starts a new run (its sender is the first
driver), `join` attaches to a running one; both go through the Runner, which does every check.
After that the socket forwards input to the run and sends the frames meant for it, until the run
ends or the socket goes away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import ClientConnection

from padbox.core import events
from padbox.core.access import token_subprotocols
from padbox.core.cluster import RunLost, owner_of
from padbox.core.door import Door
from padbox.core.events import Error
from padbox.core.protocol import JoinMessage, ProtocolError, RunRequest, bad_request, parse_client_message
from padbox.core.race import race
from padbox.core.runner import Participation, Runner
from padbox.web.http_runs import credentials
from padbox.web.relay import HOP_HEADER, open_owner, relay

log = logging.getLogger("padbox.ws")


class Disconnected(Exception):
    """The client went away."""


class Relayed:
    """A join this node hands on to the run's owner: the socket to it, and the join to send first."""

    def __init__(self, upstream: ClientConnection, first: str, owner: str) -> None:
        self.upstream, self.first, self.owner = upstream, first, owner


class Connection:
    """One client socket: a starter or a joiner of one run. `run_id`: the run its path names (/ws/runs/<id>),
    which only a join of that run may use."""

    def __init__(self, websocket: WebSocket, runner: Runner, door: Door, run_id: str | None = None) -> None:
        self.websocket = websocket
        self.runner = runner
        self.door = door
        self.run_id = run_id

    async def send_text(self, text: str) -> None:
        try:
            await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise Disconnected from exc

    async def receive_text(self) -> str:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise Disconnected
        text = message.get("text")
        if text is None:
            raise bad_request("binary frames are not accepted: send JSON text frames")
        return str(text)

    async def fail(self, problem: ProtocolError) -> None:
        """Send an `error` and close with the matching code; the client may already be gone."""
        try:
            await self.send_text(events.encode(Error.of(problem)))
        except Disconnected:
            return
        await self.close(problem.close_code)

    async def close(self, code: int) -> None:
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            try:
                await self.websocket.close(code)
            except (RuntimeError, OSError):
                pass

    async def serve(self) -> None:
        offered = token_subprotocols(self.websocket.headers)
        # A browser that offered a token subprotocol only completes the handshake if it is echoed.
        await self.websocket.accept(subprotocol=offered[0] if offered else None)
        try:
            entry = await self._enter()
        except ProtocolError as exc:
            await self.fail(exc)
            return
        except Disconnected:
            return
        if isinstance(entry, Relayed):
            await relay(self.websocket, entry.upstream, entry.first, entry.owner)
        else:
            await self._take_part(entry)

    async def _enter(self) -> Participation | Relayed:
        """Read the first message: start a run, or join one. Access is checked once the client has
        spoken, so its first message never races the refusal."""
        timeout = self.door.first_message_timeout_s
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # arrives with the result, and a server shutting down would wait for this socket.
            async with asyncio.timeout(timeout):
                text = await self.receive_text()
        except TimeoutError:
            raise bad_request(f"no 'run' message within {timeout:g} s of connecting") from None
        message = parse_client_message(text)
        if self.run_id is not None and not (isinstance(message, JoinMessage) and message.run_id == self.run_id):
            raise bad_request(f"this socket joins run {self.run_id}: its first message must be a 'join' of it")
        if isinstance(message, JoinMessage):
            shown = credentials(self.websocket)
            address = await self.door.owner_address(message, shown)
            if address is None:
                return await self.runner.join(message, shown)
            owner = owner_of(message.run_id) or "?"
            if HOP_HEADER in self.websocket.headers:
                raise RunLost(owner, "is not where the cluster's registry says")
            upstream = await open_owner(address, message.run_id, owner, self.websocket, self.door.node_id)
            return Relayed(upstream, text, owner)
        if not isinstance(message, RunRequest):
            raise bad_request("the first message must be a 'run' (or 'join') message")
        return await self.runner.start(message, credentials(self.websocket))

    async def _take_part(self, participation: Participation) -> None:
        sender = asyncio.create_task(self._send_frames(participation))
        reader = asyncio.create_task(self._read_input(participation))
        try:
            await race(sender, reader)
        finally:
            participation.leave()
        problem = None if reader.cancelled() else reader.exception()
        if isinstance(problem, ProtocolError):  # the client broke the protocol: it is told why, then closed
            await self.fail(problem)

    async def _send_frames(self, participation: Participation) -> None:
        try:
            while (frame := await participation.next_frame()) is not None:
                await self.send_text(frame.text)
        except Disconnected:
            return
        await self.close(participation.close_code)

    async def _read_input(self, participation: Participation) -> None:
        """Forward the client's messages until it disconnects or breaks the protocol."""
        while True:
            try:
                text = await self.receive_text()
            except Disconnected:
                return
            message = parse_client_message(text)
            if isinstance(message, RunRequest | JoinMessage):
                raise bad_request("this socket already takes part in a run: one socket carries one run")
            await participation.send(message)


def websocket_endpoint(runner: Runner, door: Door) -> Callable[[WebSocket], Awaitable[None]]:
    """/ws, and /ws/runs/<run id> (a join of that run: the path lets a proxy route it to the run's owner)."""

    async def endpoint(websocket: WebSocket) -> None:
        run_id = websocket.path_params.get("run_id")
        await Connection(websocket, runner, door, run_id if isinstance(run_id, str) else None).serve()

    return endpoint
