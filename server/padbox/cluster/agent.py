"""HAProxy's agent check: a tiny TCP service on PADBOX_AGENT_PORT that answers each connection with one line
saying whether this node should get new runs (HAProxy 2.6, "agent-check").

`ready up` puts the node in rotation; `drain` keeps its running sessions (joins still reach it by its run ids)
while leastconn sends it no new ones: at capacity, or draining for shutdown. A node whose engine or image is
missing answers `down`: it cannot run anything.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("padbox.cluster.agent")


@dataclass(frozen=True)
class NodeState:
    """What the agent check and the registry report of this node."""

    prepared: bool
    draining: bool
    sessions: int
    queue: int
    limit: int
    pool: int

    @property
    def full(self) -> bool:
        return self.sessions >= self.limit or self.queue > 0


def agent_reply(state: NodeState) -> str:
    """The line HAProxy reads. Weight follows free room, so leastconn prefers the emptier of two nodes."""
    if not state.prepared:
        return "down\n"
    if state.draining or state.full:
        return "drain\n"
    free = max(1, round(100 * (state.limit - state.sessions) / state.limit))
    return f"ready up {free}%\n"


class AgentCheck:
    """The agent-check listener; `state` is read afresh for every check."""

    def __init__(self, host: str, port: int, state: Callable[[], NodeState], sock: socket.socket | None = None) -> None:
        """`sock`: a listening socket to serve (inherited, already bound to host:port) instead of binding."""
        self.host, self.port, self.state, self.sock = host, port, state, sock
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        if self.sock is not None:
            self._server = await asyncio.start_server(self._answer, sock=self.sock)
        else:
            self._server = await asyncio.start_server(self._answer, self.host, self.port)
        log.info("agent check on %s:%d", self.host, self.port)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(agent_reply(self.state()).encode())
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
