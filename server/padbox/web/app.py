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
from padbox.telemetry.metrics import Metrics
from padbox.web.routes import http_routes
from padbox.web.websocket import websocket_endpoint

log = logging.getLogger("padbox")

# Package data (see pyproject.toml), so an installed wheel serves them: the pad that static/build.mjs bundles
# into padbox/web/pad/ (`make static`), else a page saying it was not built.
STATIC_DIR = Path(str(resources.files("padbox.web").joinpath("pad")))
PLACEHOLDER_PAGE = Path(str(resources.files("padbox.web").joinpath("placeholder.html")))


def static_routes() -> list[BaseRoute]:
    if STATIC_DIR.is_dir():
        return [Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True), name="static")]

    async def placeholder(request: Request) -> Response:
        return Response(PLACEHOLDER_PAGE.read_bytes(), media_type="text/html")

    return [Route("/", placeholder)]


class Service(Protocol):
    """A part that lives as long as the app (cluster membership, the agent check)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(runner: Runner, metrics: Metrics, image: str, services: Sequence[Service] = ()) -> Starlette:
    """The web app over a runner (padbox.assembly makes one from settings); `image` names the sandbox
    image in readiness reports. `services` start after the runner and stop after its sessions ended."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runner.start_up()
        for service in services:
            await service.start()
        try:
            yield
        finally:
            await runner.shut_down()
            for service in reversed(services):
                await service.stop()
            await runner.close()

    endpoint = websocket_endpoint(runner)
    routes: list[BaseRoute] = [
        WebSocketRoute("/ws", endpoint),
        WebSocketRoute("/ws/runs/{run_id}", endpoint),
        *http_routes(runner, metrics, image),
        *static_routes(),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
