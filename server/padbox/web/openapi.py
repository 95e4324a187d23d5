"""The OpenAPI 3.1 document of the HTTP API, served at GET /openapi.json.

Built from the same definitions the server runs on (verdicts, error codes, limit names, this server's
maxima), so the document cannot name a field or a value the server does not use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from padbox.core.limits import LIMIT_NAMES, MINIMA, LimitPolicy
from padbox.core.protocol import MAX_ARGS, MAX_FILES, ErrorCode, Verdict
from padbox.core.runner import Runner

LIMIT_MEANINGS = {
    "compile_timeout_s": "Wall-clock limit of the compile stage, seconds.",
    "run_timeout_s": "Wall-clock limit of the run stage, seconds.",
    "cpu_time_s": "CPU-time limit of each stage, seconds.",
    "memory_mb": "Memory of the whole sandbox, MiB (no swap).",
    "pids": "Processes and threads in the sandbox.",
    "output_kb": "Output relayed for the whole run (both stages, both streams), KiB.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {"Retry-After": {"description": "Seconds after which trying again makes sense.",
                               "schema": {"type": "integer"}}}


def _schemas(policy: LimitPolicy) -> dict[str, Any]:
    limits = {
        name: {
            "type": "integer" if isinstance(getattr(policy.maxima, name), int) else "number",
            "minimum": MINIMA[name],
            "maximum": getattr(policy.maxima, name),
            "default": getattr(policy.defaults, name),
            "description": LIMIT_MEANINGS.get(name, ""),
        }
        for name in LIMIT_NAMES
    }
    nullable_int = {"type": ["integer", "null"]}
    return {
        "SourceFile": {
            "type": "object", "required": ["name", "content"],
            "properties": {"name": {"type": "string", "description": "A relative path; the first file is the entry "
                                    "point.", "examples": ["main.py"]},
                           "content": {"type": "string"}},
        },
        "Limits": {"type": "object", "additionalProperties": False, "properties": limits,
                   "description": "Any of these; the rest take this server's defaults (some languages have their "
                                  "own). Outside the range: `limit_exceeded`."},
        "ExecuteRequest": {
            "type": "object", "required": ["language"],
            "description": "The fields of a WebSocket `run` message (docs/protocol.md), without `tty`. "
                           "Send `files` or `source`.",
            "properties": {
                "type": {"const": "run"},
                "language": {"type": "string", "description": "A language id or alias, any case.",
                             "examples": ["python"]},
                "files": {"type": "array", "items": _ref("SourceFile"), "minItems": 1, "maxItems": MAX_FILES},
                "source": {"type": "string", "description": "One file under the language's usual name."},
                "args": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_ARGS},
                "stdin": {"type": "string", "default": "", "description": "All of the program's input; then end "
                                                                          "of file."},
                "limits": _ref("Limits"),
            },
        },
        "StageResult": {
            "type": "object",
            "properties": {
                "stdout": {"type": "string"},
                "stderr": {"type": "string"},
                "code": {**nullable_int, "description": "Exit status; null when a signal ended the program."},
                "signal": {"type": ["string", "null"], "examples": ["SIGKILL"]},
                "verdict": {"enum": [v.value for v in Verdict]},
                "wall_ms": {"type": "integer"},
                "cpu_ms": nullable_int,
                "memory_bytes": {**nullable_int, "description": "Peak resident memory."},
            },
        },
        "ExecuteResponse": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "language": {"type": "string", "description": "The resolved language id."},
                "version": {"type": "string"},
                "verdict": {"enum": [v.value for v in Verdict], "description": "The last stage's verdict."},
                "compile": {"oneOf": [_ref("StageResult"), {"type": "null"}],
                            "description": "Null for interpreted languages."},
                "run": {"oneOf": [_ref("StageResult"), {"type": "null"}],
                        "description": "Null when the compile failed."},
            },
        },
        "Error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "type": {"const": "error"},
                "code": {"enum": [c.value for c in ErrorCode]},
                "message": {"type": "string"},
                "retry_after_s": {"type": "integer", "description": "With `busy`."},
            },
        },
        "Language": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                           "aliases": {"type": "array", "items": {"type": "string"}},
                           "version": {"type": "string"}, "file": {"type": "string"},
                           "compiled": {"type": "boolean"}, "template": {"type": "string"}},
        },
        "PistonRuntime": {
            "type": "object",
            "properties": {"language": {"type": "string"}, "version": {"type": "string"},
                           "aliases": {"type": "array", "items": {"type": "string"}}},
        },
        "PistonFile": {
            "type": "object", "required": ["content"],
            "properties": {"name": {"type": "string"}, "content": {"type": "string"},
                           "encoding": {"enum": ["utf8", "base64", "hex"], "default": "utf8"}},
        },
        "PistonExecuteRequest": {
            "type": "object", "required": ["language", "files"],
            "properties": {
                "language": {"type": "string"},
                "version": {"type": "string", "default": "*", "description": "A semver selector."},
                "files": {"type": "array", "items": _ref("PistonFile")},
                "stdin": {"type": "string", "description": "A final newline is added when missing, as Piston does."},
                "args": {"type": "array", "items": {"type": "string"}},
                "compile_timeout": {"type": "number", "description": "Milliseconds."},
                "run_timeout": {"type": "number", "description": "Milliseconds."},
                "compile_cpu_time": {"type": "number", "description": "Milliseconds."},
                "run_cpu_time": {"type": "number", "description": "Milliseconds."},
                "compile_memory_limit": {"type": "number", "description": "Bytes; -1: the server's default."},
                "run_memory_limit": {"type": "number", "description": "Bytes; -1: the server's default."},
            },
        },
        "PistonStage": {
            "type": "object",
            "properties": {
                "stdout": {"type": "string"}, "stderr": {"type": "string"},
                "output": {"type": "string", "description": "stdout and stderr in the order produced."},
                "code": nullable_int, "signal": {"type": ["string", "null"]},
                "message": {"type": ["string", "null"]},
                "status": {"enum": ["RE", "SG", "TO", "OL", "XX", None]},
                "memory": nullable_int, "cpu_time": nullable_int, "wall_time": nullable_int,
            },
        },
        "PistonExecuteResponse": {
            "type": "object",
            "properties": {"language": {"type": "string"}, "version": {"type": "string"},
                           "run": _ref("PistonStage"),
                           "compile": {**_ref("PistonStage"), "description": "Compiled languages only."}},
        },
        "PistonError": {"type": "object", "properties": {"message": {"type": "string"}}},
        "Readiness": {
            "type": "object",
            "properties": {"ready": {"type": "boolean"}, "docker": {"type": "boolean"}, "image": {"type": "boolean"},
                           "draining": {"type": "boolean"},
                           "problems": {"type": "array", "items": {"type": "string"}}},
        },
    }


def document(policy: LimitPolicy, max_body_bytes: int) -> dict[str, Any]:
    """The OpenAPI document for a server with this limit policy and body cap."""
    error = _ref("Error")
    piston_error = _ref("PistonError")
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
                                "content": {"application/json": {"schema": _ref("ExecuteRequest")}}},
                "responses": {
                    "200": _json(_ref("ExecuteResponse"), "The run ended (whatever its verdict)."),
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
                "responses": {"200": _json({"type": "array", "items": _ref("Language")}, "Every language.")},
            }},
            "/api/v2/runtimes": {"get": {
                "summary": "Piston: the runtimes",
                "operationId": "pistonRuntimes",
                "responses": {"200": _json({"type": "array", "items": _ref("PistonRuntime")}, "Every language.")},
            }},
            "/api/v2/execute": {"post": {
                "summary": "Piston: run a program to completion",
                "operationId": "pistonExecute",
                "security": token,
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("PistonExecuteRequest")}}},
                "responses": {
                    "200": _json(_ref("PistonExecuteResponse"), "The run ended."),
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
                "responses": {"200": _json(_ref("Readiness"), "Ready."),
                              "503": _json(_ref("Readiness"), "Not ready; `problems` says why.")},
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


def openapi_endpoint(runner: Runner) -> Callable[[Request], Awaitable[Response]]:
    """GET /openapi.json"""
    body = document(runner.policy, runner.door.max_message_bytes)

    async def endpoint(request: Request) -> Response:
        return JSONResponse(body)

    return endpoint
