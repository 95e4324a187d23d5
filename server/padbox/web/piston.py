"""Piston's API v2 (engineer-man/piston, docs/api-v2.md) on top of padbox: existing Piston clients
switch by changing a URL.

A translation, nothing more: a Piston request, decoded into `PistonExecuteRequest`, becomes the body
of a `run` message, validated by the same `protocol.parse_run` and run by the same Runner as /ws and
/api/v1 (rest.py); the run's record becomes Piston's `run` / `compile` objects. The translation is
pure code.

Where Piston's own behaviour is the contract, it is kept: a stdin without a final newline gets one,
a failed compile is also reported as the `run` stage, client mistakes are HTTP 400 with a `message`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import signal as signals
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from padbox.core import protocol
from padbox.core.door import Door
from padbox.core.languages import Catalogue, Language
from padbox.core.limits import MINIMA
from padbox.core.protocol import (
    MAX_ARGS,
    MAX_FILES,
    ErrorCode,
    InvalidField,
    ProtocolError,
    RunRequest,
    Stage,
    Verdict,
    bad_request,
)
from padbox.core.runner import Runner
from padbox.core.transcript import RunRecord, StageRecord
from padbox.web.answers import (
    PistonErrorResponse,
    PistonExecuteResponse,
    PistonRuntime,
    PistonStage,
    PistonStatus,
    answer,
)
from padbox.web.http_runs import Endpoint, run_endpoint, started
from padbox.web.http_runs import status_for as http_status_for
from padbox.web.semver import MAX_SELECTOR_LENGTH, satisfies

ENCODINGS = ("utf8", "base64", "hex")
# Piston's per-stage limits (milliseconds, bytes) and the padbox limit each one sets. padbox has one
# CPU-time limit for both stages and one memory limit for the sandbox: the larger request wins.
MILLISECOND_LIMITS = {
    "compile_timeout": "compile_timeout_s",
    "run_timeout": "run_timeout_s",
    "compile_cpu_time": "cpu_time_s",
    "run_cpu_time": "cpu_time_s",
}
BYTE_LIMITS = {"compile_memory_limit": "memory_mb", "run_memory_limit": "memory_mb"}
NO_LIMIT = -1  # Piston's "no limit" for memory: here, the server's default

Milliseconds = Annotated[float | None, Meta(description="Milliseconds; 0 or null: the server's default.")]
Bytes = Annotated[float | None, Meta(description="Bytes; 0, -1 or null: the server's default.")]


class PistonFile(msgspec.Struct, frozen=True):
    """A file as Piston takes it."""

    content: str
    name: Annotated[str | None, Meta(description="Unnamed files are named as Piston names them.")] = None
    encoding: Annotated[
        str,
        Meta(
            description="utf8, base64 or hex; anything else is read as utf8, as Piston does.", examples=list(ENCODINGS)
        ),
    ] = "utf8"


class PistonExecuteRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The body of POST /api/v2/execute (Piston's docs/api-v2.md)."""

    language: Annotated[
        str, Meta(min_length=1, description="A language id, alias or file extension.", examples=["python"])
    ]
    version: Annotated[
        str,
        Meta(
            max_length=MAX_SELECTOR_LENGTH,
            description="An npm semver range the runtime's version must satisfy; `*`: any.",
            examples=["3.x", "*"],
        ),
    ] = "*"
    files: Annotated[
        tuple[PistonFile, ...], Meta(max_length=MAX_FILES, description="The first utf8 file is the entry point.")
    ]
    stdin: Annotated[str | None, Meta(description="A final newline is added when missing, as Piston does.")] = None
    args: Annotated[tuple[str, ...], Meta(max_length=MAX_ARGS)] | None = None
    compile_timeout: Milliseconds = None
    run_timeout: Milliseconds = None
    compile_cpu_time: Milliseconds = None
    run_cpu_time: Milliseconds = None
    compile_memory_limit: Bytes = None
    run_memory_limit: Bytes = None


_REQUEST: msgspec.json.Decoder[PistonExecuteRequest] = msgspec.json.Decoder(PistonExecuteRequest)


def runtimes(catalogue: Catalogue) -> list[PistonRuntime]:
    """GET /api/v2/runtimes: every language with its version and every other name it answers to."""
    return [
        PistonRuntime(language=lang.id, version=catalogue.version(lang), aliases=catalogue.aliases(lang))
        for lang in sorted(catalogue, key=lambda lang: lang.id)
    ]


def select(catalogue: Catalogue, language: str, version: str) -> Language:
    """The language named (id, alias or file extension) whose version matches the semver selector (`*`: any)."""
    unknown = ProtocolError(
        ErrorCode.UNKNOWN_LANGUAGE, f"{language}-{version} runtime is unknown; GET /api/v2/runtimes lists them"
    )
    try:
        lang = catalogue.resolve(language)
    except ProtocolError:
        raise unknown from None
    if not satisfies(catalogue.version(lang), version):
        raise unknown
    return lang


def _decode(content: str, encoding: str, index: int) -> str:
    if encoding == "utf8":
        return content
    try:
        raw = base64.b64decode(content, validate=True) if encoding == "base64" else bytes.fromhex(content)
    except (binascii.Error, ValueError):
        raise bad_request(f"files[{index}].content is not valid {encoding}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(f"files[{index}] is not UTF-8 text once decoded: padbox runs text files only") from None


def _files(raw: tuple[PistonFile, ...], lang: Language) -> list[dict[str, Any]]:
    """Piston's files as a run's files: decoded, the first utf8 file first (it is the entry point),
    unnamed files named like Piston does (the entry point gets the language's usual name)."""
    files: list[tuple[bool, str, str]] = []
    for index, item in enumerate(raw):
        encoding = item.encoding if item.encoding in ENCODINGS else "utf8"
        content = _decode(item.content, encoding, index)
        files.append((encoding == "utf8", item.name or f"file{index}.code", content))
    entry = next((i for i, (text, _, _) in enumerate(files) if text), None)
    if entry is None:
        raise bad_request("files must include at least one utf8 encoded file")
    _, entry_name, entry_content = files.pop(entry)
    if not raw[entry].name:
        entry_name = lang.file
    return [{"name": entry_name, "content": entry_content}] + [{"name": n, "content": c} for _, n, c in files]


def _limits(request: PistonExecuteRequest) -> dict[str, float]:
    limits: dict[str, float] = {}
    for name in (*MILLISECOND_LIMITS, *BYTE_LIMITS):
        value = getattr(request, name)
        if not value:  # Piston skips 0 and null alike
            continue
        if name in BYTE_LIMITS and value == NO_LIMIT:
            continue
        if value < 0:
            raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"{name} must be non-negative")
        if name in BYTE_LIMITS:
            key, ours = BYTE_LIMITS[name], float(math.ceil(value / (1024 * 1024)))
        else:
            key, ours = MILLISECOND_LIMITS[name], value / 1000
        # Each request on its own, though two of them set one limit: the larger one must not hide a mistake.
        if ours < MINIMA[key]:
            low = MINIMA[key] * (1000 if name in MILLISECOND_LIMITS else 1024 * 1024)
            raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"{name} must be at least {low:g}")
        limits[key] = max(limits.get(key, 0), ours)
    if "memory_mb" in limits:
        limits["memory_mb"] = int(limits["memory_mb"])
    return limits


def _in_pistons_words(exc: InvalidField) -> ProtocolError:
    """A decoding failure as Piston words it where its clients may read the message; padbox's words elsewhere."""
    field = re.match(r"[a-z_]*", exc.path)
    name = field.group() if field else ""
    mistyped = exc.rule in ("required", "type")
    if name == "language" or (name == "version" and mistyped):
        return bad_request(f"{name} is required as a string")
    if exc.path == "files" and mistyped:
        return bad_request("files is required as an array")
    file = re.fullmatch(r"files\[(\d+)\](\.content)?", exc.path)
    if file is not None:
        return bad_request(f"files[{file.group(1)}].content is required as a string")
    if name in MILLISECOND_LIMITS or name in BYTE_LIMITS:
        return ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"If specified, {name} must be a number")
    return exc


def parse_execute(body: bytes, catalogue: Catalogue) -> RunRequest:
    """A Piston execute request as a validated run request. Raises ProtocolError (HTTP 400)."""
    try:
        request = protocol.decode(_REQUEST, body, "the request body")
    except InvalidField as exc:
        raise _in_pistons_words(exc) from None
    lang = select(catalogue, request.language, request.version)
    stdin = request.stdin or ""
    if not stdin.endswith("\n"):
        stdin += "\n"  # Piston always ends stdin with a newline; programs ported from it expect one
    run: dict[str, Any] = {
        "language": lang.id,
        "files": _files(request.files, lang),
        "stdin": stdin,
        "limits": _limits(request),
    }
    if request.args is not None:
        run["args"] = request.args
    return protocol.parse_run(run)


def _status(verdict: Verdict, code: int | None, signal: str | None) -> tuple[PistonStatus | None, str | None]:
    """Piston's `status` and `message` for a stage's ending."""
    if verdict is Verdict.OK:
        return None, None
    if verdict is Verdict.TIMEOUT:
        return "TO", "Time limit exceeded"
    if verdict is Verdict.OUTPUT_LIMIT:
        return "OL", "Output length exceeded"
    if verdict is Verdict.MEMORY_LIMIT:
        return "SG", "Memory limit exceeded"
    if signal is not None:
        number = getattr(signals, signal, None)
        return "SG", f"Caught fatal signal {int(number) if number is not None else signal}"
    return "RE", f"Exited with error status {code}"


def stage_answer(record: StageRecord) -> PistonStage:
    """One stage as Piston reports it (the documented fields, then Piston's newer usage fields)."""
    ended = record.exit
    code, signal = (ended.code, ended.signal) if ended else (None, None)
    status, message = _status(ended.verdict, code, signal) if ended else ("XX", None)
    return PistonStage(
        stdout=record.stdout,
        stderr=record.stderr,
        output=record.text(),
        code=code,
        signal=signal,
        message=message,
        status=status,
        memory=ended.memory_bytes if ended else None,
        cpu_time=ended.cpu_ms if ended else None,
        wall_time=ended.wall_ms if ended else None,
    )


def execute_answer(record: RunRecord) -> PistonExecuteResponse:
    """POST /api/v2/execute's answer: language, version, `compile` for compiled languages, and `run`."""
    began = started(record)
    compiled, ran = (record.stages.get(stage) for stage in (Stage.COMPILE, Stage.RUN))
    compile_stage = msgspec.UNSET if compiled is None else stage_answer(compiled)
    # Piston answers a failed compile with the compile stage as `run` too: its clients read `run`.
    run_stage = stage_answer(ran) if ran is not None else compile_stage
    if run_stage is msgspec.UNSET:
        raise ProtocolError(ErrorCode.INTERNAL, "the run ended before any stage began")
    return PistonExecuteResponse(language=began.language, version=began.version, compile=compile_stage, run=run_stage)


def status_for(exc: ProtocolError) -> int:
    """Piston answers an unknown runtime with 400, not 404; everything else as /api/v1 does."""
    return 400 if exc.code is ErrorCode.UNKNOWN_LANGUAGE else http_status_for(exc)


def refusal(problem: ProtocolError) -> PistonErrorResponse:
    """Piston's error body: a `message` alone."""
    return PistonErrorResponse(problem.message)


def runtimes_endpoint(door: Door) -> Endpoint:
    """GET /api/v2/runtimes"""

    async def endpoint(request: Request) -> Response:
        return answer(runtimes(door.catalogue))

    return endpoint


def execute_endpoint(runner: Runner, door: Door) -> Endpoint:
    """POST /api/v2/execute"""
    return run_endpoint(
        runner, door, lambda body: parse_execute(body, door.catalogue), execute_answer, refusal, status_for
    )
