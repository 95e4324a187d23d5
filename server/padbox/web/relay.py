"""A join for another node's run, relayed: when the proxy in front did not send the socket to the run's owner
(another proxy, a stale route, a client that used /ws), this node opens a socket to the owner and copies
frames both ways until either side closes. HAProxy normally routes /ws/runs/<run id> straight to the owner, so
this is the fallback, not the path.

A dead owner is a clear `run_lost`, never a hang: the connection attempt is bounded, and an owner that goes away
mid-run without a close frame is reported as lost, not as the program's end.
"""

from __future__ import annotations

import asyncio
import logging

import websockets
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from padbox.core import events
from padbox.core.access import token_from
from padbox.core.cluster import RunLost
from padbox.core.events import Error
from padbox.core.protocol import CloseCode

log = logging.getLogger("padbox.relay")

CONNECT_TIMEOUT_S = 3.0
HOP_HEADER = "x-padbox-relayed-by"  # a relayed join is never relayed again: a stale address cannot loop


async def open_owner(address: str, run_id: str, owner: str, websocket: WebSocket, relayer: str) -> ClientConnection:
    """A socket to the owner's /ws/runs/<run id>, carrying the client's token; RunLost when it does not answer."""
    headers = {HOP_HEADER: relayer}
    token = token_from(websocket.query_params, websocket.headers)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if websocket.client:
        headers["X-Forwarded-For"] = websocket.client.host
    try:
        return await connect(
            f"ws://{address}/ws/runs/{run_id}",
            additional_headers=headers,
            open_timeout=CONNECT_TIMEOUT_S,
            max_size=None,
            compression=None,
            ping_interval=5,
            ping_timeout=5,
        )
    except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
        log.info("relay to %s (%s) failed: %s", owner, address, exc)
        raise RunLost(owner, "does not answer") from None


async def relay(websocket: WebSocket, upstream: ClientConnection, first: str, owner: str) -> None:
    """Copy frames between the client and the owner until one side closes, then close the other alike."""
    await upstream.send(first)

    async def down() -> None:
        try:
            async for message in upstream:
                await websocket.send_text(message if isinstance(message, str) else message.decode())
        except websockets.ConnectionClosed:
            pass
        closed = upstream.protocol.close_rcvd
        if closed is None:  # the owner went without a word: its node died or was cut off
            lost = RunLost(owner, "stopped answering while the run was going on")
            await websocket.send_text(events.encode(Error.of(lost)))
            await websocket.close(lost.close_code)
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
        except WebSocketDisconnect:
            pass
        await upstream.close(CloseCode.NORMAL)

    tasks = {asyncio.create_task(down()), asyncio.create_task(up())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (RuntimeError, OSError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
