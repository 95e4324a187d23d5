"""The embed page, /embed/p/<id>#key=...: the pad's own page with minimal chrome, for another site's iframe.

It is the same bundle as /p/<id> (it switches into embed mode on the path); the server adds one thing the page
cannot know, the origins allowed to frame it (PADBOX_EMBED_ORIGINS), as a <meta> element: the page answers
postMessage commands from those origins only and posts its events to them by name, never to "*"
(static/src/embed.js). The browser enforces who may frame it, from the CSP that web/headers.py sends.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ORIGINS_META = "padbox-embed-origins"


def embed_html(page: bytes, embed_origins: Sequence[str]) -> bytes:
    """The pad's page with the allowed embedder origins in a <meta> element in its head (space-separated)."""
    meta = f'<meta name="{ORIGINS_META}" content="{html.escape(" ".join(embed_origins))}" />\n  </head>'
    return page.replace(b"</head>", meta.encode(), 1)


def embed_route(page: Path, embed_origins: Sequence[str]) -> Route:
    """GET /embed/p/<id>: the page, read at each request (a rebuilt bundle is served without a restart)."""

    async def embed_page(request: Request) -> Response:
        body = embed_html(page.read_bytes(), embed_origins)
        return Response(body, media_type="text/html", headers={"Referrer-Policy": "no-referrer"})

    return Route("/embed/p/{pad_id}", embed_page, methods=["GET", "HEAD"])
