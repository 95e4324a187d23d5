"""The Starlette application: the routes over a node's parts; its lifespan starts and stops the node."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from padbox.web.embed import embed_route
from padbox.web.headers import SecurityHeaders
from padbox.web.routes import http_routes
from padbox.web.served import Served
from padbox.web.websocket import websocket_endpoint

log = logging.getLogger("padbox")

# Package data (see pyproject.toml), so an installed wheel serves them: the pad that static/build.mjs bundles
# into padbox/web/pad/ (`make static`), else a page saying it was not built.
STATIC_DIR = Path(str(resources.files("padbox.web").joinpath("pad")))
PLACEHOLDER_PAGE = Path(str(resources.files("padbox.web").joinpath("placeholder.html")))


def static_routes(embed_origins: Sequence[str] = ()) -> list[BaseRoute]:
    """The page at / and, for a pad, at /p/<id> and /embed/p/<id> (the same bundle: it switches into pad or embed
    mode on that path)."""
    page = STATIC_DIR / "index.html" if STATIC_DIR.is_dir() else PLACEHOLDER_PAGE

    async def pad_page(request: Request) -> Response:
        return Response(page.read_bytes(), media_type="text/html", headers={"Referrer-Policy": "no-referrer"})

    routes: list[BaseRoute] = [
        Route("/p/{pad_id}", pad_page, methods=["GET", "HEAD"]),
        embed_route(page, embed_origins),
    ]
    if STATIC_DIR.is_dir():
        return [*routes, Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True), name="static")]
    return [*routes, Route("/", pad_page)]


class SecuredStarlette(Starlette):
    """Starlette with the security headers (web/headers.py) outside its whole stack: every HTTP response carries
    them, whatever answers it, the 404s, 405s and Starlette's own 500 page included (middleware passed the usual way
    sits inside the one that writes that page)."""

    def __init__(self, embed_origins: Sequence[str], **options: Any) -> None:
        self.embed_origins = tuple(embed_origins)
        super().__init__(**options)

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack(), self.embed_origins)


class Lifetime(Protocol):
    """What starts before the app serves and stops after it (the Node)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(served: Served, lifetime: Lifetime) -> Starlette:
    """The web app over a node's parts (padbox.assembly makes both from settings): its lifespan starts and
    stops `lifetime`, and does nothing else."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await lifetime.start()
        try:
            yield
        finally:
            await lifetime.stop()

    endpoint = websocket_endpoint(served.runner, served.door)
    routes: list[BaseRoute] = [
        WebSocketRoute("/ws", endpoint),
        WebSocketRoute("/ws/runs/{run_id}", endpoint),
        *http_routes(served),
        *static_routes(served.embed_origins),
    ]
    return SecuredStarlette(served.embed_origins, routes=routes, lifespan=lifespan)
