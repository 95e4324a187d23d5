"""`padbox serve` (and `python -m padbox`): uvicorn over the assembled app. On the first SIGTERM/SIGINT the node
leaves (hands off, drains, ends its sessions) while uvicorn still serves, then uvicorn shuts down and the app's
lifespan stops the node. Every setting comes from the environment (padbox.config)."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from types import FrameType

import uvicorn

from padbox.assembly import assemble
from padbox.config import ConfigError, Settings
from padbox.core.access import RedactTokens
from padbox.node import Node
from padbox.web.app import create_app


class PadboxServer(uvicorn.Server):
    """uvicorn, but on the first signal the node leaves before uvicorn begins its own shutdown (which would
    otherwise just drop the sockets); a second signal stops at once."""

    def __init__(self, config: uvicorn.Config, node: Node) -> None:
        super().__init__(config)
        self.node = node
        self.leaving = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.leaving:
            super().handle_exit(sig, frame)
            return
        self.leaving = True
        loop = asyncio.get_event_loop()
        loop.call_soon_threadsafe(lambda: loop.create_task(self._leave_then_exit(sig, frame)))

    async def _leave_then_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            await self.node.leave()
        finally:
            super().handle_exit(sig, frame)


def serve() -> None:
    """Serve until a signal; a setting that cannot be used stops the process with a message saying which."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        assembly = assemble(settings)
        app = create_app(assembly.served, assembly.node)
    except (ConfigError, ValueError, OSError) as exc:
        sys.exit(f"padbox: {exc}")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=settings.max_message_bytes,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        lifespan="on",
        log_level="info",
        timeout_graceful_shutdown=3,
    )
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
    # An inherited socket is served as it is: it was bound (and held) by whoever started this process.
    sockets = None if settings.listen_fd is None else [socket.socket(fileno=settings.listen_fd)]
    PadboxServer(config, assembly.node).run(sockets=sockets)
