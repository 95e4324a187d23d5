"""The /ws endpoint: a thin translation between WebSocket frames and one Session."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from . import protocol
from .access import client_identity, token_from, token_subprotocols
from .protocol import (
    CloseCode,
    EofMessage,
    ErrorCode,
    ProtocolError,
    ResizeMessage,
    RunRequest,
    SignalMessage,
    StdinMessage,
    bad_request,
)
from .session import Session, plan_run

if TYPE_CHECKING:
    from .app import Padbox

log = logging.getLogger("padbox.ws")

CLOSE_FOR_ERROR = {
    ErrorCode.BAD_REQUEST: CloseCode.POLICY_VIOLATION,
    ErrorCode.UNKNOWN_LANGUAGE: CloseCode.POLICY_VIOLATION,
    ErrorCode.LIMIT_EXCEEDED: CloseCode.POLICY_VIOLATION,
    ErrorCode.BUSY: CloseCode.TRY_AGAIN_LATER,
    ErrorCode.INTERNAL: CloseCode.INTERNAL_ERROR,
}


class Disconnected(Exception):
    """The client went away."""


class Connection:
    """One client socket carrying one run."""

    def __init__(self, websocket: WebSocket, padbox: Padbox) -> None:
        self.websocket = websocket
        self.padbox = padbox
        self.session: Session | None = None
        self.client = "unknown"
        self.shutting_down = False

    async def send(self, message: dict[str, Any]) -> None:
        try:
            await self.websocket.send_text(protocol.encode(message))
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
            await self.send(protocol.refusal(problem))
        except Disconnected:
            return
        await self.close(CLOSE_FOR_ERROR[problem.code])

    async def close(self, code: CloseCode) -> None:
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            try:
                await self.websocket.close(code)
            except (RuntimeError, OSError):
                pass

    async def serve(self) -> None:
        headers = self.websocket.headers
        offered = token_subprotocols(headers)
        # A browser that offered a token subprotocol only completes the handshake if it is echoed.
        await self.websocket.accept(subprotocol=offered[0] if offered else None)
        try:
            session = await self._open_session()
        except ProtocolError as exc:
            await self.fail(exc)
            return
        except Disconnected:
            return
        if session is None:
            return
        self.session = session
        await self._drive(session)

    async def _open_session(self) -> Session | None:
        timeout = self.padbox.settings.first_message_timeout_s
        try:
            text = await asyncio.wait_for(self.receive_text(), timeout)
        except TimeoutError:
            raise bad_request(f"no 'run' message within {timeout:g} s of connecting") from None
        # Checked once the client has spoken, so its `run` never races the refusal.
        self._check_access()
        message = protocol.parse_client_message(text)
        if not isinstance(message, RunRequest):
            raise bad_request("the first message must be a 'run' message")
        plan = plan_run(message, self.padbox.catalogue, self.padbox.settings.limits)
        return Session(plan, self.padbox.engine, self.send, self.client)

    def _check_access(self) -> None:
        headers = self.websocket.headers
        token = token_from(self.websocket.query_params, headers)
        self.padbox.access.check_origin(headers.get("origin"), headers.get("host"))
        self.padbox.access.check_token(token)
        address = self.websocket.client.host if self.websocket.client else None
        self.client = client_identity(token, address, bool(self.padbox.access.tokens))

    async def _drive(self, session: Session) -> None:
        run = asyncio.create_task(session.run(), name=f"run-{session.id}")
        reader = asyncio.create_task(self._read_input(session), name=f"input-{session.id}")
        self.padbox.connections.add(self)
        try:
            await asyncio.wait({run, reader}, return_when=asyncio.FIRST_COMPLETED)
            if run.done():
                reader.cancel()
                failed = run.exception() if not run.cancelled() else None
                if isinstance(failed, Disconnected):
                    return
                if failed is not None:
                    log.exception("session %s crashed", session.id, exc_info=failed)
                    await self.fail(ProtocolError(ErrorCode.INTERNAL, "the server failed while running the program"))
                    return
                await self.close(CLOSE_FOR_ERROR[session.error] if session.error else CloseCode.NORMAL)
                return
            run.cancel()
            problem = reader.exception() if not reader.cancelled() else None
            if isinstance(problem, ProtocolError):
                await self.fail(problem)
        finally:
            self.padbox.connections.discard(self)
            for task in (run, reader):
                task.cancel()
            await asyncio.gather(run, reader, return_exceptions=True)

    async def _read_input(self, session: Session) -> None:
        """Forward the client's messages to the session until it disconnects or breaks the protocol."""
        while True:
            try:
                text = await self.receive_text()
            except Disconnected:
                return
            message = protocol.parse_client_message(text)
            if isinstance(message, RunRequest):
                raise bad_request("a run is already in progress: one socket carries one run")
            if isinstance(message, StdinMessage):
                await session.send_stdin(message.data)
            elif isinstance(message, EofMessage):
                await session.send_eof()
            elif isinstance(message, SignalMessage):
                await session.send_signal(message.signal)
            elif isinstance(message, ResizeMessage):
                await session.resize(message.cols, message.rows)

    async def shut_down(self) -> None:
        """Server shutdown: tell the client, then end the run (its container is removed on the way out)."""
        self.shutting_down = True
        try:
            await self.send(protocol.error(ErrorCode.INTERNAL, "the server is shutting down"))
        except Disconnected:
            pass
        await self.close(CloseCode.GOING_AWAY)


async def websocket_endpoint(websocket: WebSocket) -> None:
    padbox: Padbox = websocket.app.state.padbox
    await Connection(websocket, padbox).serve()
