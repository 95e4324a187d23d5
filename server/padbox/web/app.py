"""The Starlette application: the routes over one Runner, start-up and shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from padbox.core.runner import Runner
from padbox.pads.service import Pads
from padbox.telemetry.metrics import Metrics
from padbox.web.routes import http_routes
from padbox.web.websocket import websocket_endpoint

log = logging.getLogger("padbox")

# Package data (see pyproject.toml), so an installed wheel serves them: the pad that static/build.mjs bundles
# into padbox/web/pad/ (`make static`), else a page saying it was not built.
STATIC_DIR = Path(str(resources.files("padbox.web").joinpath("pad")))
PLACEHOLDER_PAGE = Path(str(resources.files("padbox.web").joinpath("placeholder.html")))


def static_routes() -> list[BaseRoute]:
    """The page at / and, for a pad, at /p/<id> (the same bundle: it switches into pad mode on that path)."""
    page = STATIC_DIR / "index.html" if STATIC_DIR.is_dir() else PLACEHOLDER_PAGE

    async def pad_page(request: Request) -> Response:
        return Response(page.read_bytes(), media_type="text/html", headers={"Referrer-Policy": "no-referrer"})

    routes: list[BaseRoute] = [Route("/p/{pad_id}", pad_page, methods=["GET", "HEAD"])]
    if STATIC_DIR.is_dir():
        return [*routes, Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True), name="static")]
    return [*routes, Route("/", pad_page)]


class Service(Protocol):
    """A part that lives as long as the app (cluster membership, the agent check)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(
    runner: Runner,
    metrics: Metrics,
    image: str,
    pads: Pads | None = None,
    services: Sequence[Service] = (),
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The web app over a runner (padbox.assembly makes one from settings); `image` names the sandbox
    image in readiness reports; `pads`, when given, adds the pads' API and sockets. `services` start after the
    runner and stop after its sessions ended; `routes` are more HTTP routes (the question bank's)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runner.start_up()
        if pads is not None:
            await pads.start_up()
        for service in services:
            await service.start()
        try:
            yield
        finally:
            if pads is not None:
                await pads.shut_down()
            await runner.shut_down()
            if pads is not None:
                await pads.close()
            for service in reversed(services):
                await service.stop()
            await runner.close()

    endpoint = websocket_endpoint(runner)
    every: list[BaseRoute] = [
        WebSocketRoute("/ws", endpoint),
        WebSocketRoute("/ws/runs/{run_id}", endpoint),
        *http_routes(runner, metrics, image, pads),
        *routes,
        *static_routes(),
    ]
    return Starlette(routes=every, lifespan=lifespan)
