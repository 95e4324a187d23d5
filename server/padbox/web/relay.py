"""A socket relayed to the node that holds what it asks for, when the proxy in front did not send it there (another
proxy, a stale route, a client that reached a node directly):

- a join for another node's run goes to the run's owner (`/ws/runs/<run id>`);
- a pad's Yjs and events sockets go to the pad's home (padbox.pads.homes).

This node opens a socket to the other node and copies frames both ways, text and binary, until either side
closes, then closes the other alike. HAProxy normally routes both straight to the right node, so this is the
fallback, not the path. A dead node is never a hang: the connection attempt is bounded, and a node that goes
away without a close frame is reported (a run as `run_lost`, not as the program's end; a pad socket with 1012,
so its provider reconnects and finds the pad's new home).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import websockets
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from padbox.core import events
from padbox.core.access import token_from
from padbox.core.cluster import RunLost
from padbox.core.events import Error
from padbox.core.protocol import CloseCode
from padbox.core.race import race

log = logging.getLogger("padbox.relay")

CONNECT_TIMEOUT_S = 3.0
HOP_HEADER = "x-padbox-relayed-by"  # a relayed join is never relayed again: a stale address cannot loop


def relay_headers(websocket: WebSocket, relayer: str) -> dict[str, str]:
    """What the other node needs to check the client as this one did: its token and address, and the hop mark."""
    headers = {HOP_HEADER: relayer}
    token = token_from(websocket.query_params, websocket.headers)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if websocket.client:
        headers["X-Forwarded-For"] = websocket.client.host
    if "origin" in websocket.headers:
        headers["Origin"] = websocket.headers["origin"]
    return headers


async def open_upstream(url: str, websocket: WebSocket, relayer: str) -> ClientConnection:
    """A socket to another node for this client; OSError, TimeoutError or InvalidHandshake when it does not answer."""
    return await connect(
        url,
        additional_headers=relay_headers(websocket, relayer),
        open_timeout=CONNECT_TIMEOUT_S,
        max_size=None,
        compression=None,
        ping_interval=5,
        ping_timeout=5,
    )


async def open_owner(address: str, run_id: str, owner: str, websocket: WebSocket, relayer: str) -> ClientConnection:
    """A socket to the owner's /ws/runs/<run id>, carrying the client's token; RunLost when it does not answer."""
    try:
        return await open_upstream(f"ws://{address}/ws/runs/{run_id}", websocket, relayer)
    except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
        log.info("relay to %s (%s) failed: %s", owner, address, exc)
        raise RunLost(owner, "does not answer") from None


async def relay(websocket: WebSocket, upstream: ClientConnection, first: str, owner: str) -> None:
    """A run's join: its first message, then frames both ways; an owner gone silent is `run_lost`."""

    async def lost() -> None:
        problem = RunLost(owner, "stopped answering while the run was going on")
        await websocket.send_text(events.encode(Error.of(problem)))
        await websocket.close(problem.close_code)

    await upstream.send(first)
    await pump(websocket, upstream, lost)


async def pump(websocket: WebSocket, upstream: ClientConnection, silent_end: Callable[[], Awaitable[None]]) -> None:
    """Copy frames, text and binary, between the client and the other node until one side closes, then close the
    other alike; `silent_end` tells the client when the other node went without a close frame (it died)."""

    async def down() -> None:
        try:
            async for message in upstream:
                if isinstance(message, str):
                    await websocket.send_text(message)
                else:
                    await websocket.send_bytes(message)
        except websockets.ConnectionClosed:
            pass
        closed = upstream.protocol.close_rcvd
        if closed is None:  # the other node went without a word: it died or was cut off
            await silent_end()
        else:
            await websocket.close(closed.code, closed.reason)

    async def up() -> None:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") is not None:
                    await upstream.send(message["text"])
                elif message.get("bytes") is not None:
                    await upstream.send(message["bytes"])
        except (WebSocketDisconnect, websockets.ConnectionClosed):
            pass
        await upstream.close(CloseCode.NORMAL)

    try:
        await race(asyncio.create_task(down()), asyncio.create_task(up()))
    finally:
        await upstream.close()
