"""The HTTP API (/api/v1): one request, one run, one answer. A thin translation onto the session engine.

The body of POST /api/v1/execute is the body of a WebSocket `run` message (without `tty`), decoded
into the same `protocol.RunRequest` under the same rules, planned by the same `plan_run` and run by
the same `Session`; the answer is the session's messages folded by `Transcript`. The plumbing here
(access control, a bounded body, running a session to its end while watching for the client leaving,
error statuses) is shared with the Piston-compatible API in piston.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from padbox.core import protocol
from padbox.core.access import ClientBusy
from padbox.core.protocol import ErrorCode, ProtocolError, RunRequest, ServerType, Stage, bad_request
from padbox.core.session import Session, plan_run
from padbox.core.transcript import Transcript

if TYPE_CHECKING:
    from padbox.web.app import Padbox

log = logging.getLogger("padbox.http")

STATUS_FOR_ERROR: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN_ORIGIN: 403,
    ErrorCode.UNKNOWN_LANGUAGE: 404,
    ErrorCode.LIMIT_EXCEEDED: 400,
    ErrorCode.BUSY: 503,  # the server is full; a client over its own caps gets 429 (ClientBusy)
    ErrorCode.INTERNAL: 500,
}
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that left before the answer: only ever logged


class HttpError(ProtocolError):
    """A refusal whose HTTP status says more than its error code (401, 403, 413, 503 while draining)."""

    def __init__(self, status: int, code: ErrorCode, message: str) -> None:
        super().__init__(code, message)
        self.status = status


class ClientGone(Exception):
    """The client closed its connection before the answer was ready."""


class HttpRuns:
    """The HTTP API's runs in flight. Shutdown stops them first, so each is answered 503 rather
    than with whatever its program did when its container was removed."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def status_for(exc: ProtocolError) -> int:
    """The HTTP status of a refusal."""
    if isinstance(exc, HttpError):
        return exc.status
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


def check_access(request: Request, padbox: Padbox) -> str:
    """The same questions /ws asks (origin, token), answered 403 / 401. Returns the client's identity
    for per-client caps."""
    address = request.client.host if request.client else None
    return padbox.access.authorize(request.query_params, request.headers, address)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, read no further than `limit` bytes (PADBOX_MAX_MESSAGE_KB)."""
    declared = request.headers.get("content-length", "")
    too_large = HttpError(413, ErrorCode.BAD_REQUEST, f"the request body is larger than {limit // 1024} KiB")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ClientDisconnect:
        raise ClientGone from None
    return bytes(body)


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read, so nothing else arrives)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def run_to_completion(request: Request, padbox: Padbox, run: RunRequest, client: str) -> Transcript:
    """Plan and run one session to its end; its stdin is only what the request carried.

    Raises ProtocolError for a refusal (before any container, or busy, or internal) and ClientGone
    when the client leaves first; the session is then cancelled and its container removed."""
    if padbox.draining:
        raise HttpError(503, ErrorCode.INTERNAL, "the server is shutting down")
    plan = plan_run(run, padbox.catalogue, padbox.settings.limits)
    transcript = Transcript()
    session = Session(plan, padbox.engine, transcript.add, client)
    await session.send_eof()  # the request held all the input there will be
    running = asyncio.create_task(session.run(), name=f"http-run-{session.id}")
    padbox.http_runs.add(running)
    watcher = asyncio.create_task(_client_gone(request), name=f"http-watch-{session.id}")
    try:
        await asyncio.wait({running, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        running.cancel()  # a no-op when it has finished; otherwise the client left
        await asyncio.gather(running, watcher, return_exceptions=True)
    shutting_down = HttpError(503, ErrorCode.INTERNAL, "the server is shutting down; the run was stopped")
    if running.cancelled():
        raise shutting_down if padbox.draining else ClientGone()
    crash = running.exception()
    if crash is not None:
        log.error("session %s crashed", session.id, exc_info=crash)
        raise ProtocolError(ErrorCode.INTERNAL, "the server failed while running the program")
    failure = session.refusal or transcript.failure()
    if failure is not None and failure.code is ErrorCode.INTERNAL and padbox.draining:
        raise shutting_down  # the sandbox was removed under the run
    if failure is not None:
        raise failure
    return transcript


# Decoding into RunRequest, not ExecuteRequest, so that a `tty` sent here is seen and refused.
_EXECUTE_BODY: msgspec.json.Decoder[RunRequest] = msgspec.json.Decoder(RunRequest)


def parse_execute(body: bytes) -> RunRequest:
    """A /api/v1/execute body: a `run` message's fields (its `type` may be left out), never `tty`."""
    run = protocol.check_run(protocol.decode(_EXECUTE_BODY, body, "the request body"))
    if run.tty:
        raise bad_request("'tty' needs a live connection: use the WebSocket at /ws")
    return run


def execute_answer(transcript: Transcript) -> dict[str, Any]:
    """The answer: the run's id, language and version, the verdict of the last stage, and for each stage
    (null when it did not happen) its output and its `exit` fields."""
    started = transcript.started or {}
    answer: dict[str, Any] = {
        "id": started.get("id"),
        "language": started.get("language"),
        "version": started.get("version"),
        "verdict": transcript.verdict,
    }
    for stage in Stage:
        record = transcript.stages.get(stage)
        answer[stage.value] = None if record is None else {
            "stdout": record.text(ServerType.STDOUT.value),
            "stderr": record.text(ServerType.STDERR.value),
            **record.result(),
        }
    return answer


async def execute(request: Request) -> Response:
    """POST /api/v1/execute"""
    padbox: Padbox = request.app.state.padbox
    try:
        client = check_access(request, padbox)
        run = parse_execute(await read_body(request, padbox.settings.max_message_bytes))
        transcript = await run_to_completion(request, padbox, run, client)
    except ProtocolError as exc:
        return JSONResponse(protocol.refusal(exc), status_for(exc), refusal_headers(exc))
    except ClientGone:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    return JSONResponse(execute_answer(transcript))
