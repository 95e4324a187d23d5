"""Test-only ways to open a socket; the client itself is padbox.client, shared with the CLI and the bench."""

from __future__ import annotations

import socket

from websockets.asyncio.client import connect as open_socket

from padbox.client import connect


def connect_slow_reader(ws_url: str) -> open_socket:
    """A client that stops reading for real: a small, fixed kernel receive buffer (no autotuning up to
    tens of MB) and a one-frame queue, so what it does not read backs up into the server."""
    host, port = ws_url.split("//", 1)[1].split("/", 1)[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    sock.connect((host, int(port)))
    return connect(ws_url, max_queue=1, sock=sock)
