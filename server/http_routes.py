"""The HTTP API's routes, in the one list app.py mounts: runs, Piston compatibility, health, metrics, OpenAPI."""

from __future__ import annotations

from starlette.routing import Route

from . import health, openapi, piston, rest
from .metrics import metrics_endpoint

HTTP_ROUTES = [
    Route("/api/v1/execute", rest.execute, methods=["POST"]),
    Route("/api/v2/runtimes", piston.runtimes_endpoint, methods=["GET"]),
    Route("/api/v2/execute", piston.execute_endpoint, methods=["POST"]),
    Route("/readyz", health.readyz, methods=["GET"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
    Route("/openapi.json", openapi.openapi_endpoint, methods=["GET"]),
]
