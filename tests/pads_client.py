"""What the pad tests use: the raw Yjs peer and events socket (padbox_dev.pad_client) and a JSON request helper."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from padbox_dev.pad_client import Events, YClient, append

__all__ = ["Events", "YClient", "append", "http"]


def http(method: str, url: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """A JSON request; the status and the decoded body (errors included)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as refused:
        raw = refused.read()
        return refused.code, json.loads(raw) if raw else None
