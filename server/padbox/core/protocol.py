"""The WebSocket wire protocol: every message name, client message, field rule, error and close code,
defined once (the server's messages are typed in events.py).

Pure code: parsing client messages never touches a socket, so every rule here is unit-tested
without a network. docs/protocol.md describes the same.
"""

from __future__ import annotations

import json
import signal as signals
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from padbox_agent import names


class ClientType(StrEnum):
    """Messages a client may send."""

    RUN = "run"
    STDIN = "stdin"
    EOF = "eof"
    SIGNAL = "signal"
    RESIZE = "resize"
    JOIN = "join"


class ServerType(StrEnum):
    """Messages the server sends."""

    STARTED = "started"
    STAGE = "stage"
    STDOUT = "stdout"
    STDERR = "stderr"
    EXIT = "exit"
    ERROR = "error"
    QUEUED = "queued"
    SNAPSHOT = "snapshot"
    PRESENCE = "presence"
    INPUT = "input"  # shared pipe-mode runs: what a driver typed, shown to the others


class Role(StrEnum):
    """What a participant in a shared run may do: drivers type and signal, viewers only watch."""

    DRIVER = "driver"
    VIEWER = "viewer"


class Stage(StrEnum):
    COMPILE = "compile"
    RUN = "run"


class Verdict(StrEnum):
    OK = "ok"
    COMPILE_ERROR = "compile_error"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    KILLED = "killed"


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"  # no valid API token
    FORBIDDEN_ORIGIN = "forbidden_origin"  # a browser page from an origin that may not open sessions
    UNKNOWN_LANGUAGE = "unknown_language"
    LIMIT_EXCEEDED = "limit_exceeded"
    BUSY = "busy"
    INTERNAL = "internal"


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (RFC 6455 section 7.4)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


CLOSE_FOR_ERROR: dict[ErrorCode, CloseCode] = {
    ErrorCode.BAD_REQUEST: CloseCode.POLICY_VIOLATION,
    ErrorCode.UNAUTHORIZED: CloseCode.POLICY_VIOLATION,
    ErrorCode.FORBIDDEN_ORIGIN: CloseCode.POLICY_VIOLATION,
    ErrorCode.UNKNOWN_LANGUAGE: CloseCode.POLICY_VIOLATION,
    ErrorCode.LIMIT_EXCEEDED: CloseCode.POLICY_VIOLATION,
    ErrorCode.BUSY: CloseCode.TRY_AGAIN_LATER,
    ErrorCode.INTERNAL: CloseCode.INTERNAL_ERROR,
}


class Signal(StrEnum):
    """Signals a client may send to its running program."""

    SIGINT = "SIGINT"
    SIGTERM = "SIGTERM"
    SIGKILL = "SIGKILL"

    @property
    def number(self) -> int:
        return int(getattr(signals, self.value))


class ProtocolError(Exception):
    """A request the client got wrong: becomes an `error` message, never a crash."""

    def __init__(self, code: ErrorCode, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s

    @property
    def close_code(self) -> CloseCode:
        """How a WebSocket closes after this error."""
        return CLOSE_FOR_ERROR[self.code]


def bad_request(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message)


MAX_TERMINAL_SIDE = 1000
MAX_FILES = 64
MAX_ARGS = 64


@dataclass(frozen=True)
class SourceFile:
    name: str
    content: str


@dataclass(frozen=True)
class RunRequest:
    """A validated `run` message. `files` is None when the client sent `source` instead."""

    language: str
    files: tuple[SourceFile, ...] | None
    source: str | None
    args: tuple[str, ...] = ()
    stdin: str = ""
    tty: bool = False
    cols: int = 80
    rows: int = 24
    limits: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StdinMessage:
    data: str


@dataclass(frozen=True)
class EofMessage:
    pass


@dataclass(frozen=True)
class SignalMessage:
    signal: Signal


@dataclass(frozen=True)
class ResizeMessage:
    cols: int
    rows: int


@dataclass(frozen=True)
class JoinMessage:
    run_id: str
    key: str
    role: Role


ClientMessage = RunRequest | StdinMessage | EofMessage | SignalMessage | ResizeMessage | JoinMessage
INPUT_MESSAGES = (StdinMessage, EofMessage, SignalMessage, ResizeMessage)


def check_file_name(name: str) -> None:
    """Refuse names that could leave the work directory or confuse a tool, before any container exists.
    The rule is the agent's own (padbox_agent.names), so the two ends cannot drift apart."""
    try:
        names.check_file_name(name)
    except names.BadFileName as exc:
        raise bad_request(str(exc)) from None


def _field(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = obj.get(name, default)
    # bool is an int in Python; a boolean where a number is expected is still a wrong type.
    if value is not default and (not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind))):
        raise bad_request(f"field '{name}' must be {_describe(kind)}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "a boolean", list: "a list", dict: "an object"}
    return " or ".join(names.get(k, k.__name__) for k in _kinds(kind))


def _terminal_side(obj: Mapping[str, Any], name: str, default: int | None) -> int:
    value: int | None = _field(obj, name, int, default)
    if value is None or not 1 <= value <= MAX_TERMINAL_SIDE:
        raise bad_request(f"field '{name}' must be between 1 and {MAX_TERMINAL_SIDE}")
    return value


def _parse_files(raw: Any) -> tuple[SourceFile, ...]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("field 'files' must be a non-empty list of {name, content} objects")
    if len(raw) > MAX_FILES:
        raise bad_request(f"at most {MAX_FILES} files may be sent")
    files: list[SourceFile] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise bad_request("each file must be an object with 'name' and 'content'")
        name = _field(item, "name", str, None)
        content = _field(item, "content", str, None)
        if name is None or content is None:
            raise bad_request("each file needs a string 'name' and a string 'content'")
        check_file_name(name)
        if name in seen:
            raise bad_request(f"file name {name!r} appears twice")
        seen.add(name)
        files.append(SourceFile(name, content))
    return tuple(files)


def parse_run(obj: Mapping[str, Any]) -> RunRequest:
    """Validate the fields of a `run` (a decoded JSON object): the WebSocket's first message and the
    HTTP API's request body follow the same rules. Raises ProtocolError."""
    language = _field(obj, "language", str, None)
    if not language:
        raise bad_request("field 'language' is required")
    source = _field(obj, "source", str, None)
    raw_files = obj.get("files")
    if raw_files is not None and source is not None:
        raise bad_request("send either 'files' or 'source', not both")
    if raw_files is None and source is None:
        raise bad_request("a run needs 'files' or 'source'")
    files = _parse_files(raw_files) if raw_files is not None else None
    args = _field(obj, "args", list, [])
    if len(args) > MAX_ARGS or not all(isinstance(a, str) and "\x00" not in a for a in args):
        raise bad_request(f"field 'args' must be a list of at most {MAX_ARGS} strings without NUL bytes")
    limits = _field(obj, "limits", dict, {})
    return RunRequest(
        language=language,
        files=files,
        source=source,
        args=tuple(args),
        stdin=_field(obj, "stdin", str, ""),
        tty=_field(obj, "tty", bool, False),
        cols=_terminal_side(obj, "cols", 80),
        rows=_terminal_side(obj, "rows", 24),
        limits=dict(limits),
    )


def _parse_signal(obj: Mapping[str, Any]) -> SignalMessage:
    name = _field(obj, "signal", str, None)
    try:
        return SignalMessage(Signal(name))
    except ValueError:
        allowed = ", ".join(s.value for s in Signal)
        raise bad_request(f"field 'signal' must be one of {allowed}") from None


def _parse_join(obj: Mapping[str, Any]) -> JoinMessage:
    run_id = _field(obj, "id", str, None)
    key = _field(obj, "key", str, None)
    if not run_id or not key:
        raise bad_request("a join message needs a string 'id' and 'key'")
    try:
        role = Role(_field(obj, "role", str, Role.VIEWER.value))
    except ValueError:
        raise bad_request("field 'role' must be 'driver' or 'viewer'") from None
    return JoinMessage(run_id, key, role)


def parse_client_message(text: str) -> ClientMessage:
    """Parse one text frame from a client; raise ProtocolError with a message a person can act on."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise bad_request("message is not valid JSON") from None
    if not isinstance(obj, dict):
        raise bad_request("message must be a JSON object")
    kind = obj.get("type")
    if kind == ClientType.RUN:
        return parse_run(obj)
    if kind == ClientType.STDIN:
        data = _field(obj, "data", str, None)
        if data is None:
            raise bad_request("stdin message needs a string 'data'")
        return StdinMessage(data)
    if kind == ClientType.EOF:
        return EofMessage()
    if kind == ClientType.SIGNAL:
        return _parse_signal(obj)
    if kind == ClientType.RESIZE:
        return ResizeMessage(_terminal_side(obj, "cols", None), _terminal_side(obj, "rows", None))
    if kind == ClientType.JOIN:
        return _parse_join(obj)
    known = ", ".join(t.value for t in ClientType)
    raise bad_request(f"unknown message type {kind!r}; expected one of {known}")
