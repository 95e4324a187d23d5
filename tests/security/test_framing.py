"""Clickjacking: a hostile site frames a pad (an interview under way, a key in its address) under a decoy and
lures the person into clicks and keys. Every response of padbox refuses every frame (CSP `frame-ancestors 'none'`,
`X-Frame-Options: DENY`); only the embed page may be framed, and only by PADBOX_EMBED_ORIGINS, which the red team's
server leaves empty. A value that would smuggle a directive into that header stops the server at start-up.
The browser's side (the frame really is blocked) is tests/e2e/test_embed.py."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import instance_name, start_server
from tests.security.target import Target

pytestmark = pytest.mark.docker


def frame_ancestors(response: httpx.Response) -> str:
    policy = response.headers.get("content-security-policy", "")
    found = [part.strip() for part in policy.split(";") if part.strip().startswith("frame-ancestors")]
    assert len(found) == 1, f"{response.request.url}: {policy!r}"
    return found[0]


def test_no_page_of_padbox_can_be_framed_by_another_site(target: Target) -> None:
    base, token = target.server.url, target.token
    created = httpx.post(f"{base}/api/v1/pads", params={"token": token}, json={}, timeout=10).raise_for_status()
    pad = created.json()
    pages = [
        "/",
        f"/p/{pad['id']}",
        f"/embed/p/{pad['id']}",  # no PADBOX_EMBED_ORIGINS here: the embed page refuses too
        "/main.js",
        f"/api/v1/pads/{pad['id']}?key={pad['keys']['owner']}&token={token}",
        f"/api/v1/pads/{pad['id']}",  # refused: no token (401)
        "/no/such/page",
    ]
    with httpx.Client(base_url=base, timeout=10, headers={"Origin": "https://evil.example"}) as client:
        for path in pages:
            response = client.get(path)
            assert frame_ancestors(response) == "frame-ancestors 'none'", path
            assert response.headers.get("x-content-type-options") == "nosniff", path
            if not path.startswith("/embed/"):
                assert response.headers.get("x-frame-options") == "DENY", path


@pytest.mark.parametrize(
    "value",
    [
        "https://ats.example; script-src * 'unsafe-inline'",  # a second directive, if pasted into the header
        "*",  # any site
        "https://ats.example/\r\nX-Injected: 1",
    ],
)
def test_an_embed_origin_that_would_rewrite_the_policy_stops_the_server(tmp_path: Path, value: str) -> None:
    with pytest.raises(RuntimeError, match="PADBOX_EMBED_ORIGINS"):
        start_server(tmp_path, instance_name("pytest-bad-embed"), PADBOX_EMBED_ORIGINS=value)
