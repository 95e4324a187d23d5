"""The HTTP API's routes, in the one list app.py mounts and openapi.py describes: runs, Piston compatibility,
health, metrics, OpenAPI, the pads and the question bank."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from padbox.core.events import Error
from padbox.core.protocol import ErrorCode, ProtocolError
from padbox.web import health, openapi, piston, rest
from padbox.web.answers import ClusterReport, answer
from padbox.web.pads import pad_routes
from padbox.web.pads_lsp import language_help_routes
from padbox.web.questions import question_routes
from padbox.web.served import Served

Endpoint = Callable[[Request], Awaitable[Response]]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def post(path: str, endpoint: Endpoint) -> Route:
    """A POST route that answers other methods with 405 itself: left to the router, the web pad's
    catch-all mount at / would answer them 404."""

    async def only_post(request: Request) -> Response:
        if request.method != "POST":
            message = f"{request.method} is not allowed here: send the run as a POST with a JSON body"
            return answer(Error(ErrorCode.BAD_REQUEST, message), 405, {"Allow": "POST"})
        return await endpoint(request)

    return Route(path, only_post, methods=METHODS)  # without methods, Starlette assumes GET only


def http_routes(served: Served) -> list[BaseRoute]:
    """Every HTTP route but the pad's static files, each given only the parts it uses."""
    runner, door = served.runner, served.door

    async def languages(request: Request) -> Response:
        return answer(rest.languages(door.catalogue))

    async def metrics_page(request: Request) -> Response:
        return Response(served.metrics.render(), media_type=served.metrics.content_type)

    async def cluster(request: Request) -> Response:
        """GET /api/v1/cluster: the live nodes (cluster mode); 404 on a single server."""
        try:
            nodes = await door.cluster()
        except ProtocolError as problem:
            return answer(Error.of(problem), 503, {"Retry-After": str(problem.retry_after_s or 2)})
        if nodes is None:
            message = "this server is not part of a cluster (PADBOX_REDIS_URL is not set)"
            return answer(Error(ErrorCode.BAD_REQUEST, message), 404)
        # The membership (another layer) reports a plain mapping: converted, and so checked, against the type.
        return answer(msgspec.convert(nodes, ClusterReport))

    return [
        post("/api/v1/execute", rest.execute_endpoint(runner, door)),
        Route("/api/v1/languages", languages, methods=["GET"]),
        Route("/api/v1/cluster", cluster, methods=["GET"]),
        Route("/api/v2/runtimes", piston.runtimes_endpoint(door), methods=["GET"]),
        post("/api/v2/execute", piston.execute_endpoint(runner, door)),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz_endpoint(served.readiness, served.image), methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        Route("/openapi.json", openapi.openapi_endpoint(served.policy, door.max_message_bytes), methods=["GET"]),
        *language_help_routes(door, served.pads, served.help),
        *pad_routes(door, served.pads, served.questions),
        *question_routes(door, served.pads, served.questions),
    ]
