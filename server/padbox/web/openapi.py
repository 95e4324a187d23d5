"""The OpenAPI 3.1 document of the HTTP API, served at GET /openapi.json.

Its schemas are generated from the types the server decodes requests into (core/protocol.py,
piston.py) and answers with (answers.py), by msgspec, as JSON Schema 2020-12 (OpenAPI 3.1's own):
a field, a bound or an enum value cannot be documented one way and enforced another. What is
written here is what a type cannot know: the paths, their statuses, and the limits this server's
policy allows (its maxima are configuration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from padbox.core.limits import LIMIT_NAMES, MINIMA, LimitPolicy
from padbox.core.protocol import ExecuteRequest
from padbox.web.answers import (
    ErrorResponse,
    ExecuteResponse,
    LanguageInfo,
    PistonErrorResponse,
    PistonExecuteResponse,
    PistonRuntime,
    Readiness,
)
from padbox.web.piston import PistonExecuteRequest

if TYPE_CHECKING:
    from padbox.web.app import Padbox

REF = "#/components/schemas/{name}"
HTTP_TYPES: tuple[type[msgspec.Struct], ...] = (
    ExecuteRequest, ExecuteResponse, ErrorResponse, LanguageInfo, Readiness,
    PistonExecuteRequest, PistonExecuteResponse, PistonErrorResponse, PistonRuntime,
)

LIMIT_MEANINGS = {
    "compile_timeout_s": "Wall-clock limit of the compile stage, seconds.",
    "run_timeout_s": "Wall-clock limit of the run stage, seconds.",
    "cpu_time_s": "CPU-time limit of each stage, seconds.",
    "memory_mb": "Memory of the whole sandbox, MiB (no swap).",
    "pids": "Processes and threads in the sandbox.",
    "output_kb": "Output relayed for the whole run (both stages, both streams), KiB.",
}


def _ref(kind: type[Any] | str) -> dict[str, str]:
    return {"$ref": REF.format(name=kind if isinstance(kind, str) else kind.__name__)}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {"Retry-After": {"description": "Seconds after which trying again makes sense.",
                               "schema": {"type": "integer"}}}


def _limits(policy: LimitPolicy) -> dict[str, Any]:
    """The `limits` object this server accepts: its names, minima, maxima and defaults (LimitPolicy)."""
    properties = {
        name: {
            "type": "integer" if isinstance(getattr(policy.maxima, name), int) else "number",
            "minimum": MINIMA[name],
            "maximum": getattr(policy.maxima, name),
            "default": getattr(policy.defaults, name),
            "description": LIMIT_MEANINGS.get(name, ""),
        }
        for name in LIMIT_NAMES
    }
    return {"title": "Limits", "type": "object", "additionalProperties": False, "properties": properties,
            "description": "Any of these; the rest take this server's defaults (some languages have their own). "
                           "Outside the range: `limit_exceeded`."}


def _schemas(policy: LimitPolicy) -> dict[str, Any]:
    _, generated = msgspec.json.schema_components(HTTP_TYPES, ref_template=REF)
    schemas: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(generated))  # as served: () becomes []
    schemas["Limits"] = _limits(policy)
    # A run's `limits` is a plain mapping in its type (the policy, not the type, judges it): point it here.
    limits = schemas[ExecuteRequest.__name__]["properties"]["limits"]
    schemas[ExecuteRequest.__name__]["properties"]["limits"] = {**_ref("Limits"), "description": limits["description"]}
    return schemas


def document(policy: LimitPolicy, max_body_bytes: int) -> dict[str, Any]:
    """The OpenAPI document for a server with this limit policy and body cap."""
    error = _ref(ErrorResponse)
    piston_error = _ref(PistonErrorResponse)
    too_large = f"The body is larger than {max_body_bytes // 1024} KiB (PADBOX_MAX_MESSAGE_KB)."
    token: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"token": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "padbox",
            "version": "1",
            "description": "Run a program in a fresh sandbox and get its output, exit status and verdict. "
                           "For live output and input use the WebSocket at /ws (docs/protocol.md).",
        },
        "components": {
            "schemas": _schemas(policy),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Needed only when the server sets PADBOX_TOKENS."},
                "token": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "paths": {
            "/api/v1/execute": {"post": {
                "summary": "Run a program to completion",
                "operationId": "execute",
                "security": token,
                "requestBody": {"required": True,
                                "description": "A WebSocket `run` message's fields (docs/protocol.md) without `tty`; "
                                               "its `type` may be left out.",
                                "content": {"application/json": {"schema": _ref(ExecuteRequest)}}},
                "responses": {
                    "200": _json(_ref(ExecuteResponse), "The run ended (whatever its verdict)."),
                    "400": _json(error, "`bad_request` or `limit_exceeded`: nothing was run."),
                    "401": _json(error, "A valid API token is required."),
                    "403": _json(error, "A browser page of another origin may not start runs."),
                    "404": _json(error, "`unknown_language`; the message lists the valid ones."),
                    "413": _json(error, too_large),
                    "429": _json(error, "`busy`: this client is over its own caps.", RETRY_AFTER),
                    "500": _json(error, "`internal`: the sandbox or the server failed."),
                    "503": _json(error, "`busy`: the server is full; or it is shutting down.", RETRY_AFTER),
                },
            }},
            "/api/v1/languages": {"get": {
                "summary": "The languages this server runs",
                "operationId": "languages",
                "responses": {"200": _json({"type": "array", "items": _ref(LanguageInfo)}, "Every language.")},
            }},
            "/api/v2/runtimes": {"get": {
                "summary": "Piston: the runtimes",
                "operationId": "pistonRuntimes",
                "responses": {"200": _json({"type": "array", "items": _ref(PistonRuntime)}, "Every language.")},
            }},
            "/api/v2/execute": {"post": {
                "summary": "Piston: run a program to completion",
                "operationId": "pistonExecute",
                "security": token,
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref(PistonExecuteRequest)}}},
                "responses": {
                    "200": _json(_ref(PistonExecuteResponse), "The run ended."),
                    "400": _json(piston_error, "A mistake in the request, or an unknown runtime."),
                    "401": _json(piston_error, "A valid API token is required."),
                    "403": _json(piston_error, "A browser page of another origin may not start runs."),
                    "413": _json(piston_error, too_large),
                    "429": _json(piston_error, "This client is over its own caps.", RETRY_AFTER),
                    "500": _json(piston_error, "The sandbox or the server failed."),
                    "503": _json(piston_error, "The server is full, or shutting down.", RETRY_AFTER),
                },
            }},
            "/healthz": {"get": {
                "summary": "Liveness: the process answers",
                "operationId": "healthz",
                "responses": {"200": {"description": "`ok`",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
            "/readyz": {"get": {
                "summary": "Readiness: Docker answers, the runner image is present, not shutting down",
                "operationId": "readyz",
                "responses": {"200": _json(_ref(Readiness), "Ready."),
                              "503": _json(_ref(Readiness), "Not ready; `problems` says why.")},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {"200": {"description": "Prometheus text format.",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
            }},
        },
    }


async def openapi_endpoint(request: Request) -> Response:
    """GET /openapi.json"""
    padbox: Padbox = request.app.state.padbox
    return JSONResponse(document(padbox.settings.limits, padbox.settings.max_message_bytes))
