"""What every HTTP API that runs a program shares: the door (credentials), a bounded body, running
to the end through the Runner while watching for the client leaving, and error statuses.

/api/v1/execute (rest.py) and Piston's /api/v2/execute (piston.py) differ only in how they read the
request and write the answer; `run_endpoint` is the rest, written once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response

from padbox.core.access import ClientBusy
from padbox.core.door import Credentials, Door, ShuttingDown
from padbox.core.events import Started
from padbox.core.protocol import ErrorCode, ProtocolError, RunRequest
from padbox.core.race import race
from padbox.core.runner import Runner
from padbox.core.transcript import RunRecord
from padbox.web.answers import answer

log = logging.getLogger("padbox.http")

STATUS_FOR_ERROR: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN_ORIGIN: 403,
    ErrorCode.UNKNOWN_LANGUAGE: 404,
    ErrorCode.LIMIT_EXCEEDED: 400,
    ErrorCode.BUSY: 503,  # the server is full; a client over its own caps gets 429 (ClientBusy)
    ErrorCode.INTERNAL: 500,
    # The run's sandbox (its upstream) went away under the program: a gateway's failure, which clients and
    # proxies already know to retry, and never a program outcome (those are 200).
    ErrorCode.SANDBOX_LOST: 502,
    ErrorCode.RUN_LOST: 502,  # the node that ran it died (cluster mode)
    ErrorCode.UNAVAILABLE: 503,  # the cluster's shared state cannot be reached for now
}
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that left before the answer: only ever logged

Endpoint = Callable[[Request], Awaitable[Response]]
StatusFor = Callable[[ProtocolError], int]


class BodyTooLarge(ProtocolError):
    """A request body past PADBOX_MAX_MESSAGE_KB (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, f"the request body is larger than {limit // 1024} KiB")


class ClientGone(Exception):
    """The client closed its connection before the answer was ready."""


def status_for(exc: ProtocolError) -> int:
    """The HTTP status of a refusal."""
    if isinstance(exc, BodyTooLarge):
        return 413
    if isinstance(exc, ShuttingDown):
        return 503
    if isinstance(exc, ClientBusy):
        return 429
    return STATUS_FOR_ERROR[exc.code]


def refusal_headers(exc: ProtocolError) -> dict[str, str]:
    headers = {}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    if exc.code is ErrorCode.UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="padbox"'
    return headers


def credentials(connection: HTTPConnection) -> Credentials:
    """What a request or a WebSocket showed at the door."""
    address = connection.client.host if connection.client else None
    return Credentials(connection.query_params, connection.headers, address)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read no further than `limit` bytes (PADBOX_MAX_MESSAGE_KB); each API decodes it
    into its own request type."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(limit)
    except ClientDisconnect:
        raise ClientGone from None
    return bytes(body)


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read, so nothing else arrives)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def run_to_completion(request: Request, runner: Runner, run: RunRequest) -> RunRecord:
    """The run's record, or ClientGone when the client leaves first (the run then ends and its sandbox
    is removed). Refusals and failures raise ProtocolError."""
    running = asyncio.create_task(runner.execute(run, credentials(request)), name="http-run")
    watcher = asyncio.create_task(_client_gone(request), name="http-watch")
    await race(running, watcher)  # cancels the run when the client left first
    if running.cancelled():
        raise ClientGone()
    crash = running.exception()
    if isinstance(crash, ProtocolError):
        raise crash
    if crash is not None:
        log.error("an HTTP run crashed", exc_info=crash)
        raise ProtocolError(ErrorCode.INTERNAL, "the server failed while running the program")
    return running.result()


def started(record: RunRecord) -> Started:
    """The run's `started` event. A run that ended without an error had one: missing, the server failed."""
    if record.started is None:
        raise ProtocolError(ErrorCode.INTERNAL, "the run ended before it started")
    return record.started


def run_endpoint(
    runner: Runner,
    door: Door,
    parse: Callable[[bytes], RunRequest],
    fold: Callable[[RunRecord], msgspec.Struct],
    refusal: Callable[[ProtocolError], msgspec.Struct],
    status: StatusFor = status_for,
) -> Endpoint:
    """An endpoint that runs one program per request: parse the body, run it, answer with the record
    folded into the API's answer type; refusals in the API's own type and status."""

    async def endpoint(request: Request) -> Response:
        try:
            run = parse(await read_body(request, door.max_message_bytes))
            folded = fold(await run_to_completion(request, runner, run))
        except ProtocolError as exc:
            return answer(refusal(exc), status(exc), refusal_headers(exc))
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        return answer(folded)

    return endpoint
