"""The Starlette application: routes, start-up and shutdown. Transports live in their own modules."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from padbox.backends.docker import Docker
from padbox.config import REPO_ROOT, Settings
from padbox.core.access import AccessPolicy, ClientLimiter
from padbox.core.capacity import Capacity
from padbox.core.languages import Catalogue
from padbox.core.pool import WarmPool
from padbox.core.session import Engine
from padbox.core.sharing import ShareRegistry
from padbox.telemetry.metrics import Metrics
from padbox.telemetry.session_log import SessionLog
from padbox.web.rest import HttpRuns
from padbox.web.routes import HTTP_ROUTES
from padbox.web.websocket import websocket_endpoint

log = logging.getLogger("padbox")

STATIC_DIR = REPO_ROOT / "static" / "dist"
PLACEHOLDER_PAGE = REPO_ROOT / "static" / "placeholder.html"


class Padbox:
    """What every request handler shares: settings, the Docker client, languages, live connections."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalogue = Catalogue.load(settings.manifest)
        self.docker = Docker(settings)
        self.capacity = Capacity(settings.max_sessions, settings.queue_limit)
        self.pool = WarmPool(self.docker, self.capacity, settings.limits.defaults, settings.pool_size)
        self.access = AccessPolicy(settings.tokens, settings.allowed_origins)
        limiter = ClientLimiter(settings.max_sessions_per_client, settings.sessions_per_minute)
        self.engine = Engine(self.docker, self.capacity, self.pool, limiter)
        self.metrics = Metrics(self.capacity, self.pool)
        self.engine.observers += [self.metrics, SessionLog(settings.log_content)]
        self.prepared = False  # Docker answered, the image is there, versions read, pool started
        self.draining = False  # shutting down: /readyz says so and new HTTP runs are refused
        self.http_runs = HttpRuns()
        self.shares = ShareRegistry(
            settings.share_max_participants, settings.share_grace_s, settings.share_replay_bytes
        )

    async def start(self) -> None:
        """Without Docker or the runner image the server still starts: /readyz reports what is missing
        (a load balancer sees "not ready", not a crash loop) and runs fail with an `internal` error."""
        if not await self.docker.ping():
            log.error("no Docker engine answers; run `make run`, which starts one, or check DOCKER_HOST")
            return
        reaped = await self.docker.reap_leftovers()  # before any session of ours can exist
        if reaped:
            log.warning("removed %d container(s) left by an earlier server", reaped)
        if not await self.docker.image_present():
            log.error("runner image %s is missing; build it with `make image`", self.settings.image)
            return
        await self.prepare()

    async def prepare(self) -> None:
        """What needs the image: its language versions, and the warm pool. /readyz calls it again
        when the image has appeared since start-up."""
        self.catalogue = self.catalogue.with_versions(await self.docker.read_versions())
        self.pool.start()
        self.prepared = True

    async def shut_down_sessions(self) -> None:
        """Tell every connected client the server is going away and remove every container."""
        self.draining = True
        self.http_runs.stop()
        await self.pool.drain()
        await self.shares.shut_down()
        await self.docker.settled()
        await self.docker.reap_leftovers()  # belt and braces: nothing of this instance outlives the server

    async def stop(self) -> None:
        await self.docker.close()


async def languages(request: Request) -> Response:
    padbox: Padbox = request.app.state.padbox
    return JSONResponse(padbox.catalogue.describe())


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def static_routes() -> list[Mount | Route]:
    if STATIC_DIR.is_dir():
        return [Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True), name="static")]

    async def placeholder(request: Request) -> Response:
        return Response(PLACEHOLDER_PAGE.read_bytes(), media_type="text/html")

    return [Route("/", placeholder)]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    padbox = Padbox(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await padbox.start()
        try:
            yield
        finally:
            await padbox.shut_down_sessions()
            await padbox.stop()

    routes = [
        WebSocketRoute("/ws", websocket_endpoint),
        Route("/api/v1/languages", languages),
        Route("/healthz", healthz),
        *HTTP_ROUTES,
        *static_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.padbox = padbox
    return app
