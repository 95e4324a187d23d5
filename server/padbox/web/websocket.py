"""The /ws endpoint: a thin translation between one WebSocket and one participant of a SharedRun.

The first message decides the socket's part: `run` starts a new run (its sender is the first
driver), `join` attaches to a running one. After that the socket forwards input to the run and
sends what the participant's outbox holds, until the run ends or the socket goes away.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from padbox.core import protocol
from padbox.core.access import token_subprotocols
from padbox.core.protocol import (
    CLOSE_FOR_ERROR,
    INPUT_MESSAGES,
    CloseCode,
    JoinMessage,
    ProtocolError,
    RunRequest,
    bad_request,
)
from padbox.core.session import Session, plan_run
from padbox.core.sharing import Participant, SharedRun, ViewerInputRefused

if TYPE_CHECKING:
    from padbox.web.app import Padbox

log = logging.getLogger("padbox.ws")


class Disconnected(Exception):
    """The client went away."""


class Connection:
    """One client socket: a starter or a joiner of one run."""

    def __init__(self, websocket: WebSocket, padbox: Padbox) -> None:
        self.websocket = websocket
        self.padbox = padbox
        self.client = "unknown"

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
            await self.send_text(protocol.encode(protocol.refusal(problem)))
        except Disconnected:
            return
        await self.close(CLOSE_FOR_ERROR[problem.code])

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
            run, participant = await self._enter()
        except ProtocolError as exc:
            await self.fail(exc)
            return
        except Disconnected:
            return
        await self._take_part(run, participant)

    def _check_access(self) -> None:
        address = self.websocket.client.host if self.websocket.client else None
        self.client = self.padbox.access.authorize(self.websocket.query_params, self.websocket.headers, address)

    async def _enter(self) -> tuple[SharedRun, Participant]:
        """Read the first message: start a run, or join one."""
        timeout = self.padbox.settings.first_message_timeout_s
        try:
            text = await asyncio.wait_for(self.receive_text(), timeout)
        except TimeoutError:
            raise bad_request(f"no 'run' message within {timeout:g} s of connecting") from None
        # Checked once the client has spoken, so its first message never races the refusal.
        self._check_access()
        message = protocol.parse_client_message(text)
        if isinstance(message, JoinMessage):
            run = self.padbox.shares.find(message.run_id, message.key)
            return run, run.join(message.role)
        if not isinstance(message, RunRequest):
            raise bad_request("the first message must be a 'run' (or 'join') message")
        plan = plan_run(message, self.padbox.catalogue, self.padbox.settings.limits)
        run = self.padbox.shares.create(lambda emit: Session(plan, self.padbox.engine, emit, self.client))
        participant = run.attach_starter()
        run.start()
        return run, participant

    async def _take_part(self, run: SharedRun, participant: Participant) -> None:
        sender = asyncio.create_task(self._send_outbox(participant))
        reader = asyncio.create_task(self._read_input(run, participant))
        try:
            await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
            if reader.done() and not reader.cancelled() and isinstance(reader.exception(), ProtocolError):
                problem = reader.exception()
                assert isinstance(problem, ProtocolError)
                run.leave(participant)
                sender.cancel()
                await self.fail(problem)
        finally:
            run.leave(participant)
            for task in (sender, reader):
                task.cancel()
            await asyncio.gather(sender, reader, return_exceptions=True)

    async def _send_outbox(self, participant: Participant) -> None:
        outbox = participant.outbox
        try:
            while (frame := await outbox.take()) is not None:
                await self.send_text(frame)
        except Disconnected:
            return
        await self.close(outbox.close_code or CloseCode.NORMAL)

    async def _read_input(self, run: SharedRun, participant: Participant) -> None:
        """Forward the client's messages until it disconnects or breaks the protocol."""
        while True:
            try:
                text = await self.receive_text()
            except Disconnected:
                return
            message = protocol.parse_client_message(text)
            if isinstance(message, RunRequest | JoinMessage):
                raise bad_request("this socket already takes part in a run: one socket carries one run")
            assert isinstance(message, INPUT_MESSAGES)
            try:
                await run.input(participant, message)
            except ViewerInputRefused as refused:
                participant.outbox.offer(protocol.encode(protocol.refusal(refused)))


async def websocket_endpoint(websocket: WebSocket) -> None:
    padbox: Padbox = websocket.app.state.padbox
    await Connection(websocket, padbox).serve()
