"""The HTTP API's routes, in the one list app.py mounts: runs, Piston compatibility, health, metrics, OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from padbox.core import protocol
from padbox.core.protocol import ErrorCode
from padbox.telemetry.metrics import metrics_endpoint
from padbox.web import health, openapi, piston, rest

Endpoint = Callable[[Request], Awaitable[Response]]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def post(path: str, endpoint: Endpoint) -> Route:
    """A POST route that answers other methods with 405 itself: left to the router, the web pad's
    catch-all mount at / would answer them 404."""

    async def only_post(request: Request) -> Response:
        if request.method != "POST":
            message = f"{request.method} is not allowed here: send the run as a POST with a JSON body"
            return JSONResponse(protocol.error(ErrorCode.BAD_REQUEST, message), 405, {"Allow": "POST"})
        return await endpoint(request)

    return Route(path, only_post, methods=METHODS)  # without methods, Starlette assumes GET only


HTTP_ROUTES = [
    post("/api/v1/execute", rest.execute),
    Route("/api/v2/runtimes", piston.runtimes_endpoint, methods=["GET"]),
    post("/api/v2/execute", piston.execute_endpoint),
    Route("/readyz", health.readyz, methods=["GET"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
    Route("/openapi.json", openapi.openapi_endpoint, methods=["GET"]),
]
