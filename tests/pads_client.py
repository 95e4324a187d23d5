"""What the pad tests use: the raw Yjs peer and events socket (padbox_dev.pad_client) and a JSON request helper."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from padbox_dev.pad_client import Events, LspClient, YClient, append, replace, text_hash

if TYPE_CHECKING:
    from tests.conftest import ServerProcess

__all__ = ["Events", "LspClient", "YClient", "append", "http", "new_pad", "replace", "text_hash", "ws_base"]


def http(method: str, url: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """A JSON request; the status and the decoded body (errors included)."""
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    answer = httpx.request(method, url, content=data, headers=sent, timeout=30)
    return answer.status_code, answer.json() if answer.content else None


def ws_base(server: ServerProcess) -> str:
    """Where a pad's sockets live: `<base>/ws/pads/<id>...`."""
    return f"ws://127.0.0.1:{server.port}"


def new_pad(server: ServerProcess, **body: Any) -> dict[str, Any]:
    """A pad made over the API with `body` (files, language, question...), as the 201 answered it."""
    status, pad = http("POST", f"{server.url}/api/v1/pads", body)
    assert status == 201, pad
    return pad
