"""Pads over HTTP and WebSocket: a thin translation onto padbox.pads.service.Pads.

Every endpoint and socket asks the node's door first (tokens, the Origin allowlist), exactly as
/ws and the execute endpoints do, then the pad's key. Refusals are the API's usual `error` body; a pad
socket is accepted and then closed with the refusal's code (4404 for an unknown pad or a wrong key alike),
so a browser sees the code and the reason.

In a cluster, a pad whose room is on another node (padbox.pads.homes) is served there: its sockets are relayed
(padbox.web.relay) and its calls forwarded (padbox.web.forward), once; a relayed request that finds the pad
elsewhere again is told to retry (1013, or 503), never sent on a loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import websockets
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from padbox.core import protocol
from padbox.core.access import token_subprotocols
from padbox.core.cluster import Unavailable
from padbox.core.door import Door, ShuttingDown
from padbox.core.events import Error
from padbox.core.protocol import CloseCode, ErrorCode, ProtocolError
from padbox.core.race import race
from padbox.pads.homes import Elsewhere
from padbox.pads.messages import (
    Ended,
    Link,
    NewLink,
    NewPad,
    Notes,
    PadCreated,
    PadRefusal,
    RoleStrings,
    RunAccepted,
    RunPad,
    RunTestsAction,
    read_action,
)
from padbox.pads.model import PadError, PadRole, malformed
from padbox.pads.rooms import Outgoing, send
from padbox.pads.service import Pads
from padbox.pads.store import StorageFailed
from padbox.questions.service import QuestionService
from padbox.web.answers import answer
from padbox.web.forward import forward
from padbox.web.http_runs import ClientGone, credentials, read_body, refusal_headers, status_for
from padbox.web.relay import HOP_HEADER, open_upstream, pump

log = logging.getLogger("padbox.pads.web")

T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_CLOSE_REASON = 120  # a close frame's reason is at most 123 bytes


def refusal(problem: ProtocolError) -> tuple[PadRefusal | Error, int]:
    """A refusal's body (the `error` object of the rest of the API, with a pad's own codes) and status."""
    if isinstance(problem, PadError):
        return PadRefusal(problem.wire_code, problem.message), problem.status
    return Error.of(problem), status_for(problem)


def base_url(connection: HTTPConnection) -> str:
    return str(connection.base_url).rstrip("/")


def link(connection: HTTPConnection, pad_id: str, key: str) -> str:
    """A pad's link: the key in the fragment, so it never reaches a server's log or a Referer."""
    return f"{base_url(connection)}/p/{pad_id}#key={key}"


async def body_of(request: Request, door: Door, into: type[T], required: bool = False) -> T:
    raw = await read_body(request, door.max_message_bytes)
    if not raw and not required:  # only a body with no bytes at all is empty: whitespace alone is not JSON
        raw = b"{}"
    return protocol.decode(msgspec.json.Decoder(into), raw, "the request body")


def only(methods: dict[str, Endpoint]) -> Endpoint:
    """Answer the listed methods; any other is 405 with `Allow` (else the web page's mount at / answers 404)."""

    async def endpoint(request: Request) -> Response:
        handler = methods.get(request.method)
        if handler is None:
            message = f"{request.method} is not allowed here"
            allow = ", ".join(methods)
            return answer(Error(ErrorCode.BAD_REQUEST, message), 405, {"Allow": allow})
        return await handler(request)

    return endpoint


def pad_endpoint(door: Door, pads: Pads, handler: Callable[[Request, str, str], Awaitable[Response]]) -> Endpoint:
    """The door (access policy), then the handler with the pad id and key; refusals as answers. In a cluster, a
    call on a pad is made where the pad's room is: held here for the call, or forwarded. The pad API's routes and
    the question bank's pad routes (web/questions.py) all pass here."""

    async def endpoint(request: Request) -> Response:
        try:
            if pads.closed_to_new:
                raise ShuttingDown()
            door.authorize(credentials(request))
            pad_id, key = request.path_params.get("pad_id", ""), request.query_params.get("key", "")
            if not pad_id or not pads.homes.shared:
                return await handler(request, pad_id, key)
            try:
                async with pads.holding(pad_id, key):
                    return await handler(request, pad_id, key)
            except Elsewhere as home:
                if HOP_HEADER in request.headers:
                    raise Unavailable("the pad is moving between servers", 1) from None
                return await forward(request, home.address, door.node_id, door.max_message_bytes)
        except ProtocolError as problem:
            body, status = refusal(problem)
            return answer(body, status, refusal_headers(problem))
        except ClientGone:
            return Response(status_code=499)

    return endpoint


def pad_routes(door: Door, pads: Pads, questions: QuestionService) -> list[BaseRoute]:
    """The pad API's routes and its two sockets; a pad made from a question, and the events socket's Run tests,
    go to the question bank."""

    def guarded(handler: Callable[[Request, str, str], Awaitable[Response]]) -> Endpoint:
        return pad_endpoint(door, pads, handler)

    async def create(request: Request, _: str, __: str) -> Response:
        body = await body_of(request, door, NewPad)
        new = await (pads.create(body) if body.question is None else questions.create_pad(body))
        keys = new.keys
        created = PadCreated(
            id=new.id,
            links=RoleStrings(*(link(request, new.id, keys[role]) for role in PadRole)),
            keys=RoleStrings(*(keys[role] for role in PadRole)),
        )
        return answer(created, 201)

    async def info(request: Request, pad_id: str, key: str) -> Response:
        return answer(await pads.info(pad_id, key))

    async def run(request: Request, pad_id: str, key: str) -> Response:
        await pads.enter(pad_id, key)  # an unknown pad or a wrong key is 404 whatever the body
        body = await body_of(request, door, RunPad)
        run_id = await pads.run(pad_id, key, body, credentials(request))
        return answer(RunAccepted(run_id), 202)

    async def end(request: Request, pad_id: str, key: str) -> Response:
        return answer(Ended(True, await pads.end(pad_id, key)))

    async def links(request: Request, pad_id: str, key: str) -> Response:
        await pads.enter(pad_id, key)
        role = (await body_of(request, door, NewLink, required=True)).role
        fresh = await pads.new_key(pad_id, key, role)
        return answer(Link(role, fresh, link(request, pad_id, fresh)))

    async def notes(request: Request, pad_id: str, key: str) -> Response:
        return answer(Notes(await pads.notes(pad_id, key)))

    async def set_notes(request: Request, pad_id: str, key: str) -> Response:
        await pads.enter(pad_id, key)
        text = (await body_of(request, door, Notes, required=True)).notes
        await pads.set_notes(pad_id, key, text)
        return answer(Notes(text))

    async def history(request: Request, pad_id: str, key: str) -> Response:
        return answer(await pads.history(pad_id, key))

    async def export(request: Request, pad_id: str, key: str) -> Response:
        disposition = f'attachment; filename="pad-{pad_id}.json"'
        exported = msgspec.structs.replace(await pads.export(pad_id, key), report=await questions.report(pad_id, key))
        return answer(exported, headers={"Content-Disposition": disposition})

    async def report(request: Request, pad_id: str, key: str) -> Response:
        return answer(await questions.report(pad_id, key))

    every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    base = "/api/v1/pads"
    return [
        Route(base, only({"POST": guarded(create)}), methods=every),
        Route(base + "/{pad_id}", only({"GET": guarded(info)}), methods=every),
        Route(base + "/{pad_id}/runs", only({"POST": guarded(run)}), methods=every),
        Route(base + "/{pad_id}/end", only({"POST": guarded(end)}), methods=every),
        Route(base + "/{pad_id}/links", only({"POST": guarded(links)}), methods=every),
        Route(base + "/{pad_id}/notes", only({"GET": guarded(notes), "PUT": guarded(set_notes)}), methods=every),
        Route(base + "/{pad_id}/history", only({"GET": guarded(history)}), methods=every),
        Route(base + "/{pad_id}/export", only({"GET": guarded(export)}), methods=every),
        Route(base + "/{pad_id}/report", only({"GET": guarded(report)}), methods=every),
        WebSocketRoute("/ws/pads/{pad_id}/events", _events_socket(door, pads, questions)),
        WebSocketRoute("/ws/pads/{pad_id}", _yjs_socket(door, pads)),
    ]


# --- sockets ------------------------------------------------------------------------------------------------
async def _accept(websocket: WebSocket, door: Door, pads: Pads) -> bool:
    """Accept (echoing a token subprotocol, as /ws does), then the door; False when refused and closed."""
    offered = token_subprotocols(websocket.headers)
    await websocket.accept(subprotocol=offered[0] if offered else None)
    try:
        if pads.closed_to_new:
            raise ShuttingDown()
        door.authorize(credentials(websocket))
    except ProtocolError as problem:
        await _refuse(websocket, problem)
        return False
    return True


async def _refuse(websocket: WebSocket, problem: ProtocolError) -> None:
    """A pad's own refusals close with their code (4404...), the rest (unavailable, shutting down) with theirs."""
    await _close(websocket, problem.close if isinstance(problem, PadError) else problem.close_code, problem.message)


async def _relay(websocket: WebSocket, home: Elsewhere, relayer: str) -> None:
    """The socket relayed to the pad's home. A home that does not answer, or a second hop, closes it with 1013
    (try again later) and its provider tries again: by then a dead home's claim has expired, and the pad has moved."""
    if HOP_HEADER in websocket.headers:
        await _close(websocket, CloseCode.TRY_AGAIN_LATER, "the pad is moving between servers: try again")
        return
    path = websocket.url.path + (f"?{websocket.url.query}" if websocket.url.query else "")
    try:
        upstream = await open_upstream(f"ws://{home.address}{path}", websocket, relayer)
    except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
        log.info("pad socket relay to %s (%s) failed: %s", home.node, home.address, exc)
        await _close(websocket, CloseCode.TRY_AGAIN_LATER, "the pad's server does not answer: try again")
        return

    async def home_died() -> None:
        await _close(websocket, CloseCode.SERVICE_RESTART, "the pad's server went away: reconnecting")

    await pump(websocket, upstream, home_died)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        try:
            await websocket.close(code, reason.encode()[:MAX_CLOSE_REASON].decode(errors="ignore"))
        except (RuntimeError, OSError):
            pass


async def _drain(websocket: WebSocket, outgoing: Outgoing) -> None:
    """Send a socket's queued messages until it is closed, then close it with its code."""
    try:
        while (message := await outgoing.take()) is not None:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    await _close(websocket, outgoing.close_code or CloseCode.NORMAL, outgoing.close_reason)


def _yjs_socket(door: Door, pads: Pads) -> Callable[[WebSocket], Awaitable[None]]:
    """/ws/pads/<id>?key=K[&name=N]: the y-websocket protocol, binary frames."""

    async def endpoint(websocket: WebSocket) -> None:
        if not await _accept(websocket, door, pads):
            return
        pad_id = websocket.path_params["pad_id"]
        try:
            room, peer = await pads.join(
                pad_id, websocket.query_params.get("key", ""), websocket.query_params.get("name")
            )
        except Elsewhere as home:
            await _relay(websocket, home, door.node_id)
            return
        except ProtocolError as problem:
            await _refuse(websocket, problem)
            return

        async def read() -> None:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                try:
                    if data is None:
                        raise malformed("text frames are not y-websocket messages: send binary frames")
                    await room.receive(peer, data)
                except PadError as problem:
                    peer.outgoing.close(problem.close, problem.message)
                    await asyncio.Event().wait()  # the sender closes the socket; this side waits to be cancelled
                except StorageFailed as exc:  # the edit could not be stored, so nobody saw it
                    log.error("pad %s: an edit could not be stored: %s", pad_id, exc)
                    peer.outgoing.close(CloseCode.TRY_AGAIN_LATER, "the pad could not be saved: reconnecting")
                    await asyncio.Event().wait()

        try:
            await race(asyncio.create_task(_drain(websocket, peer.outgoing)), asyncio.create_task(read()))
        finally:
            pads.leave(room, peer)

    return endpoint


def _events_socket(door: Door, pads: Pads, questions: QuestionService) -> Callable[[WebSocket], Awaitable[None]]:
    """/ws/pads/<id>/events?key=K: JSON; server to client (runs starting and finishing, the pad ending, test runs),
    and the page's actions (run_tests) the other way."""

    async def endpoint(websocket: WebSocket) -> None:
        if not await _accept(websocket, door, pads):
            return
        pad_id, key = websocket.path_params["pad_id"], websocket.query_params.get("key", "")
        try:
            room, listener = await pads.listen(pad_id, key, websocket.query_params.get("name"))
        except Elsewhere as home:
            await _relay(websocket, home, door.node_id)
            return
        except ProtocolError as problem:
            await _refuse(websocket, problem)
            return

        name = websocket.query_params.get("name") or listener.name

        async def act(text: str) -> None:
            try:
                action = read_action(text)
                if isinstance(action, RunTestsAction):
                    await questions.act(pad_id, key, action, name, credentials(websocket))
                elif action is not None:  # a mark: a paste, a focus change, the owner's pinned note
                    await pads.mark(room, listener, action)
            except ProtocolError as problem:  # told to this socket alone; it stays open
                send(listener.outgoing, msgspec.json.encode(refusal(problem)[0]).decode())
            except StorageFailed as exc:
                log.error("pad %s: a mark could not be stored: %s", pad_id, exc)
                refused = PadRefusal(ErrorCode.INTERNAL.value, "the mark could not be saved")
                send(listener.outgoing, msgspec.json.encode(refused).decode())

        async def read() -> None:  # actions (pads/messages.py); anything else, a ping say, is ignored
            while (message := await websocket.receive())["type"] != "websocket.disconnect":
                if message.get("text") is not None:
                    await act(message["text"])

        try:
            await race(asyncio.create_task(_drain(websocket, listener.outgoing)), asyncio.create_task(read()))
        finally:
            pads.unlisten(room, listener)

    return endpoint
