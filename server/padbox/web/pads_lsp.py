"""A pad's language help over WebSocket and HTTP: a thin translation onto padbox.lsp.manager.LanguageHelp.

`/ws/pads/<id>/lsp?key=K`: one JSON-RPC message per text frame (docs/pads.md, "Language help"), with the pad's
other sockets' door, key and role rules, and relayed to the pad's home node in a cluster like them.
`/api/v1/pads/<id>/language-help`: the owner's switch (PUT) and its state (GET, any role).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from padbox.core.door import Door
from padbox.core.protocol import PadCloseCode, ProtocolError
from padbox.core.race import race
from padbox.lsp import protocol
from padbox.lsp.manager import LanguageHelp
from padbox.pads.homes import Elsewhere
from padbox.pads.messages import LanguageHelp as LanguageHelpBody
from padbox.pads.service import Pads
from padbox.web.answers import answer
from padbox.web.pads import _accept, _drain, _refuse, _relay, body_of, only, pad_endpoint

MAX_FRAME = 1 << 20  # one request of a page; a document never travels on this socket


def language_help_routes(door: Door, pads: Pads, help: LanguageHelp) -> list[BaseRoute]:
    async def enabled(request: Request, pad_id: str, key: str) -> Response:
        return answer(LanguageHelpBody(await help.enabled(pad_id, key)))

    async def set_enabled(request: Request, pad_id: str, key: str) -> Response:
        await pads.enter(pad_id, key)  # an unknown pad or a wrong key is 404 whatever the body
        body = await body_of(request, door, LanguageHelpBody, required=True)
        name = request.query_params.get("name")
        return answer(LanguageHelpBody(await help.set_enabled(pad_id, key, body.enabled, name)))

    every = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    switch = only({"GET": pad_endpoint(door, pads, enabled), "PUT": pad_endpoint(door, pads, set_enabled)})
    return [
        Route("/api/v1/pads/{pad_id}/language-help", switch, methods=every),
        WebSocketRoute("/ws/pads/{pad_id}/lsp", _lsp_socket(door, pads, help)),
    ]


def _lsp_socket(door: Door, pads: Pads, help: LanguageHelp) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        if not await _accept(websocket, door, pads):
            return
        pad_id, key = websocket.path_params["pad_id"], websocket.query_params.get("key", "")
        try:
            async with help.participate(pad_id, key) as (session, participant):

                async def read() -> None:
                    while (message := await websocket.receive())["type"] != "websocket.disconnect":
                        text = message.get("text")
                        try:
                            if text is None:
                                raise protocol.Malformed("binary frames are not JSON-RPC: send text frames")
                            if len(text) > MAX_FRAME:
                                raise protocol.Malformed(f"a message over {MAX_FRAME} bytes")
                            session.receive(participant, protocol.parse(text))
                        except protocol.Malformed as problem:
                            participant.outgoing.close(PadCloseCode.MALFORMED, str(problem))
                            await asyncio.Event().wait()  # the sender closes the socket; this side waits

                await race(asyncio.create_task(_drain(websocket, participant.outgoing)), asyncio.create_task(read()))
        except Elsewhere as home:
            await _relay(websocket, home, door.node_id)
        except ProtocolError as problem:
            await _refuse(websocket, problem)

    return endpoint
