"""Clickjacking: a hostile site frames a pad (an interview under way, a key in its address) under a decoy and
lures the person into clicks and keys. Every response of padbox refuses every frame (CSP `frame-ancestors 'none'`,
`X-Frame-Options: DENY`); only the embed page may be framed, and only by PADBOX_EMBED_ORIGINS, which the red team's
server leaves empty. A value that would smuggle a directive into that header stops the server at start-up.
The browser's side (the frame really is blocked) is tests/e2e/test_embed.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from padbox.client import Client, connect
from tests.conftest import ServerProcess, instance_name, start_server
from tests.security.target import Target

pytestmark = pytest.mark.docker

EMBEDDER = "https://ats.example"


@pytest.fixture(scope="module")
def embeddable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose embed page `EMBEDDER` may frame (its Origin allowlist is the default: same origin only)."""
    srv = start_server(
        tmp_path_factory.mktemp("embeddable"),
        instance_name("pytest-embeddable"),
        PADBOX_EMBED_ORIGINS=EMBEDDER,
        PADBOX_POOL_SIZE="0",
    )
    yield srv
    srv.stop()


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


async def test_the_embedder_may_frame_the_pad_but_not_drive_it_with_its_own_scripts(embeddable: ServerProcess) -> None:
    """Listing a site in PADBOX_EMBED_ORIGINS lets it frame the embed page, nothing more: its own scripts still
    cannot call the pad API or open the pad's sockets (the Origin allowlist, PADBOX_ALLOWED_ORIGINS, is unchanged)."""
    base = embeddable.url
    pad = httpx.post(f"{base}/api/v1/pads", json={}, timeout=10).raise_for_status().json()
    embed = httpx.get(f"{base}/embed/p/{pad['id']}", timeout=10)
    assert frame_ancestors(embed) == f"frame-ancestors {EMBEDDER}"
    assert frame_ancestors(httpx.get(f"{base}/p/{pad['id']}", timeout=10)) == "frame-ancestors 'none'"

    as_embedder = {"Origin": EMBEDDER}
    refused = httpx.post(f"{base}/api/v1/pads/{pad['id']}/runs?key={pad['keys']['edit']}", headers=as_embedder)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden_origin")

    events = f"{embeddable.ws_url}/pads/{pad['id']}/events?key={pad['keys']['edit']}"
    async with websockets.connect(events, origin=websockets.Origin(EMBEDDER)) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    assert ws.close_reason is not None and "origin" in ws.close_reason, (ws.close_code, ws.close_reason)
    async with connect(embeddable.ws_url, origin=websockets.Origin(EMBEDDER)) as run_socket:
        client = Client(run_socket)
        await client.run(language="python", source="print(1)")
        assert (await client.collect()).error["code"] == "forbidden_origin"

    # The embed page itself is served from padbox's origin: its sockets pass, as the pad page's always did.
    async with websockets.connect(events, origin=websockets.Origin(base)) as ws:
        assert json.loads(await ws.recv())["type"] == "pad"
