"""What the pad tests use: the raw Yjs peer and events socket (padbox_dev.pad_client) and a JSON request helper."""

from __future__ import annotations

import json
from typing import Any

import httpx

from padbox_dev.pad_client import Events, LspClient, YClient, append, replace, text_hash

__all__ = ["Events", "LspClient", "YClient", "append", "http", "replace", "text_hash"]


def http(method: str, url: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """A JSON request; the status and the decoded body (errors included)."""
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    answer = httpx.request(method, url, content=data, headers=sent, timeout=30)
    return answer.status_code, answer.json() if answer.content else None
