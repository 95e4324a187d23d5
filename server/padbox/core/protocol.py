"""The WebSocket wire protocol: every message name, client message, field rule, error and close code,
defined once (the server's messages are typed in events.py).

Pure code: parsing client messages never touches a socket, so every rule here is unit-tested
without a network. docs/protocol.md describes the same.

Client messages are msgspec Structs (as the server's events are), and a frame is validated by
decoding it into them: a field's type and bounds are stated once, in the type, where the decoder
enforces them and the OpenAPI document (web/openapi.py) reads them as JSON Schema. msgspec rather
than pydantic: it decodes JSON straight into frozen values in one pass, several times faster than
pydantic and with no runtime dependencies, it dispatches tagged unions on `type` natively, and
`schema_components` emits JSON Schema 2020-12, which OpenAPI 3.1 uses as is. What a schema cannot
say (`files` or `source`, safe file names, no NUL in arguments) is checked right after decoding,
in `check_run`, and added to the OpenAPI document in one place (openapi._rules_beyond_the_types).
"""

from __future__ import annotations

import functools
import re
import signal as signals
from collections.abc import Mapping
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

import msgspec
from msgspec import Meta

from padbox_agent import names

T = TypeVar("T")


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
    SANDBOX_LOST = "sandbox_lost"  # the run's sandbox went away under a running program: no verdict to give
    RUN_LOST = "run_lost"  # the node that ran it is gone (cluster mode): the run ended without a verdict
    UNAVAILABLE = "unavailable"  # the cluster's shared state (Redis) cannot be reached: try again shortly


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (RFC 6455 section 7.4), on run and pad sockets alike."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # a pad moved or its server restarts: a Yjs provider reconnects and lands on its new home
    TRY_AGAIN_LATER = 1013


class PadCloseCode(IntEnum):
    """How the server closes a pad socket (4000-4999: the application's own range, RFC 6455 section 7.4.2)."""

    MALFORMED = 4400  # not a y-websocket message, or one that does not decode
    NOT_FOUND = 4404  # unknown pad or wrong key (the same, so ids cannot be probed); also a key replaced
    TOO_LARGE = 4413  # the edit would pass the document size or the file count
    TOO_FAST = 4429  # past the message rate, or the pad is full of participants


CLOSE_FOR_ERROR: dict[ErrorCode, CloseCode] = {
    ErrorCode.BAD_REQUEST: CloseCode.POLICY_VIOLATION,
    ErrorCode.UNAUTHORIZED: CloseCode.POLICY_VIOLATION,
    ErrorCode.FORBIDDEN_ORIGIN: CloseCode.POLICY_VIOLATION,
    ErrorCode.UNKNOWN_LANGUAGE: CloseCode.POLICY_VIOLATION,
    ErrorCode.LIMIT_EXCEEDED: CloseCode.POLICY_VIOLATION,
    ErrorCode.BUSY: CloseCode.TRY_AGAIN_LATER,
    ErrorCode.INTERNAL: CloseCode.INTERNAL_ERROR,
    ErrorCode.SANDBOX_LOST: CloseCode.INTERNAL_ERROR,
    ErrorCode.RUN_LOST: CloseCode.INTERNAL_ERROR,
    ErrorCode.UNAVAILABLE: CloseCode.TRY_AGAIN_LATER,
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

TerminalSide = Annotated[int, Meta(ge=1, le=MAX_TERMINAL_SIDE)]


class SourceFile(msgspec.Struct, frozen=True):
    """One file of a run."""

    name: Annotated[
        str, Meta(description="A relative path; the first file is the entry point.", examples=["main.py", "lib/util.h"])
    ]
    content: str


class ExecuteRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What to run: the body of POST /api/v1/execute, and the fields a `run` message shares with it.
    Send `files` or `source`, not both."""

    language: Annotated[
        str, Meta(min_length=1, description="A language id, alias or file extension, any case.", examples=["python"])
    ]
    # None when the client sent the other one.
    files: Annotated[tuple[SourceFile, ...], Meta(min_length=1, max_length=MAX_FILES)] | None = None
    source: Annotated[str | None, Meta(description="One file under the language's usual name.")] = None
    args: Annotated[tuple[str, ...], Meta(max_length=MAX_ARGS, description="Arguments; no NUL bytes.")] = ()
    stdin: Annotated[str, Meta(description="Input the program reads first (over HTTP: all of it).")] = ""
    # A mapping, not a type: which names and ranges are allowed is this server's LimitPolicy's to say.
    limits: Annotated[dict[str, Any], Meta(description="Limits asked for; the rest take the server's defaults.")] = {}


class RunRequest(ExecuteRequest, frozen=True, kw_only=True, tag_field="type", tag=ClientType.RUN.value):
    """The first message of a WebSocket session: what to run, and whether in a terminal."""

    tty: Annotated[bool, Meta(description="Give the program a pseudo-terminal.")] = False
    cols: TerminalSide = 80
    rows: TerminalSide = 24


class StdinMessage(msgspec.Struct, frozen=True, tag_field="type", tag=ClientType.STDIN.value):
    data: str


class EofMessage(msgspec.Struct, frozen=True, tag_field="type", tag=ClientType.EOF.value):
    pass


class SignalMessage(msgspec.Struct, frozen=True, tag_field="type", tag=ClientType.SIGNAL.value):
    signal: Signal


class ResizeMessage(msgspec.Struct, frozen=True, tag_field="type", tag=ClientType.RESIZE.value):
    cols: TerminalSide
    rows: TerminalSide


class JoinMessage(msgspec.Struct, frozen=True, tag_field="type", tag=ClientType.JOIN.value):
    run_id: Annotated[str, Meta(min_length=1)] = msgspec.field(name="id")
    key: Annotated[str, Meta(min_length=1)]
    role: Role = Role.VIEWER


ClientMessage = RunRequest | StdinMessage | EofMessage | SignalMessage | ResizeMessage | JoinMessage
INPUT_MESSAGES = (StdinMessage, EofMessage, SignalMessage, ResizeMessage)
CLIENT_MESSAGES: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)


def check_file_name(name: str) -> None:
    """Refuse names that could leave the work directory or confuse a tool, before any container exists.
    The rule is the agent's own (padbox_agent.names), so the two ends cannot drift apart."""
    try:
        names.check_file_name(name)
    except names.BadFileName as exc:
        raise bad_request(str(exc)) from None


Rule = Literal["required", "type", "length", "range", "choice", "other"]


class InvalidField(ProtocolError):
    """A message that does not fit its type: `path` names the field (`files[0].content`; '' for the whole
    message) and `rule` what it broke, so a transport can say it in its own words (piston.py does)."""

    def __init__(self, path: str, rule: Rule, message: str) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, message)
        self.path = path
        self.rule = rule


# msgspec's ValidationError text: "<what went wrong> - at `$.<path>`" (no path: the whole message).
_FAILURE = re.compile(r"(?P<what>.*?)(?: - at `\$\.?(?P<path>.*)`)?", re.DOTALL)
_KINDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "array": "a list",
    "object": "an object",
}
_BOUNDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


class _Vocabulary(NamedTuple):
    """What a refusal lists, read from the target type so that it cannot disagree with it."""

    tags: tuple[str, ...]  # the `type` values it accepts
    choices: dict[str, tuple[str, ...]]  # an enum field's values, by field name
    ranges: dict[str, tuple[float, float]]  # a number field's bounds, by field name


@functools.cache
def _vocabulary(into: Any) -> _Vocabulary:
    root = msgspec.inspect.type_info(into)
    members = root.types if isinstance(root, msgspec.inspect.UnionType) else (root,)
    tags = tuple(str(m.tag) for m in members if isinstance(m, msgspec.inspect.StructType) and m.tag is not None)
    found = _Vocabulary(tags, {}, {})

    def visit(node: msgspec.inspect.Type, name: str) -> None:
        if isinstance(node, msgspec.inspect.Metadata):
            visit(node.type, name)
        elif isinstance(node, msgspec.inspect.EnumType):
            found.choices.setdefault(name, tuple(str(member.value) for member in node.cls))
        elif isinstance(node, msgspec.inspect.LiteralType):
            found.choices.setdefault(name, tuple(str(value) for value in node.values))
        elif isinstance(node, msgspec.inspect.IntType | msgspec.inspect.FloatType):
            if node.ge is not None and node.le is not None:
                found.ranges.setdefault(name, (node.ge, node.le))
        elif isinstance(node, msgspec.inspect.UnionType):
            for option in node.types:
                visit(option, name)
        elif isinstance(node, msgspec.inspect.ListType | msgspec.inspect.VarTupleType):
            visit(node.item_type, name)
        elif isinstance(node, msgspec.inspect.StructType):
            for field in node.fields:
                visit(field.type, field.encode_name)

    visit(root, "")
    return found


def _describe(kinds: str) -> str:
    """msgspec's `str | null` as `a string` (null is what leaving a field out looks like)."""
    named = [_KINDS.get(kind, kind) for kind in kinds.split(" | ") if kind != "null"]
    return " or ".join(named) or "null"


def invalid(exc: msgspec.ValidationError, into: Any, subject: str) -> InvalidField:
    """A msgspec validation failure as a refusal that names the field and says what it must be."""
    found = _FAILURE.fullmatch(str(exc))
    assert found is not None  # the pattern matches any text
    what, path = found.group("what"), found.group("path") or ""
    vocabulary = _vocabulary(into)
    name = re.sub(r"\[[^]]*\]", "", path).rsplit(".", 1)[-1]  # `files[0].name` -> `name`
    missing = re.fullmatch(r"Object missing required field `(.+)`", what)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    if path == "type" and vocabulary.tags:
        tags = vocabulary.tags
        if len(tags) == 1:
            return InvalidField(path, "choice", f"field 'type' may only be '{tags[0]}'")
        return InvalidField(path, "choice", f"unknown message type; 'type' must be one of {', '.join(tags)}")
    field = f"field '{path.replace('[...]', '')}'"
    if missing:
        return InvalidField(path, "required", f"{field} is required")
    mistyped = re.fullmatch(r"Expected `(.+?)`, got `(.+?)`", what)
    if mistyped and not path:
        if mistyped.group(1) == "object":
            return InvalidField(path, "type", f"{subject} must be a JSON object")
        return InvalidField(path, "type", f"{subject} must be {_describe(mistyped.group(1))}")
    if mistyped:
        return InvalidField(path, "type", f"{field} must be {_describe(mistyped.group(1))}")
    length = re.fullmatch(r"Expected `(.+?)` of length (>=|<=) (\d+)", what)
    if length:
        kind, bound, size = length.groups()
        if kind == "str":
            if (bound, size) == (">=", "1"):
                return InvalidField(path, "length", f"{field} must not be empty")
            return InvalidField(path, "length", f"{field} must be {_BOUNDS[bound]} {size} characters long")
        if (bound, size) == (">=", "1"):
            return InvalidField(path, "length", f"{field} must be a non-empty list")
        return InvalidField(path, "length", f"{field} must be a list of {_BOUNDS[bound]} {size} items")
    bounded = re.fullmatch(r"Expected `(.+?)` (>=|<=|>|<) (\S+)", what)
    if bounded:
        kind, bound, limit = bounded.groups()
        if name in vocabulary.ranges:
            low, high = vocabulary.ranges[name]
            return InvalidField(path, "range", f"{field} must be {_describe(kind)} from {low} to {high}")
        return InvalidField(path, "range", f"{field} must be {_describe(kind)} {_BOUNDS[bound]} {limit}")
    if what.startswith(("Invalid enum value", "Invalid value")):
        allowed = vocabulary.choices.get(name)
        if allowed:
            return InvalidField(path, "choice", f"{field} must be one of {', '.join(allowed)}")
        return InvalidField(path, "choice", f"{field} has a value that is not allowed")
    if what == "Number out of range":
        return InvalidField(path, "range", f"{field} holds a number out of range")
    return InvalidField(path, "other", f"{field} is not valid: {what}" if path else f"{subject} is not valid: {what}")


def decode(decoder: msgspec.json.Decoder[T], data: str | bytes, subject: str) -> T:
    """JSON text decoded into the decoder's type, or a bad_request refusal that says where and why;
    `subject` names the text in it ("message", "the request body")."""
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise invalid(exc, decoder.type, subject) from None
    except (msgspec.DecodeError, RecursionError, UnicodeEncodeError):  # malformed, too deep, or a lone surrogate
        raise bad_request(f"{subject} is not valid JSON") from None


def check_run(run: RunRequest) -> RunRequest:
    """The rules of a run that its type cannot state: `files` or `source`, file names, NUL-free arguments."""
    if run.files is not None and run.source is not None:
        raise bad_request("send either 'files' or 'source', not both")
    if run.files is None and run.source is None:
        raise bad_request("a run needs 'files' or 'source'")
    seen: set[str] = set()
    for file in run.files or ():
        check_file_name(file.name)
        if file.name in seen:
            raise bad_request(f"file name {file.name!r} appears twice")
        seen.add(file.name)
    for index, arg in enumerate(run.args):
        if "\x00" in arg:
            raise bad_request(f"field 'args[{index}]' must not contain a NUL byte")
    return run


def parse_run(obj: Mapping[str, Any]) -> RunRequest:
    """Validate the fields of a `run` (a decoded JSON object, its `type` optional) as a `run` message's are.
    Raises ProtocolError."""
    try:
        run = msgspec.convert(obj, RunRequest)
    except msgspec.ValidationError as exc:
        raise invalid(exc, RunRequest, "a run") from None
    return check_run(run)


def parse_client_message(text: str | bytes) -> ClientMessage:
    """Parse one text frame from a client; raise ProtocolError with a message a person can act on."""
    message = decode(CLIENT_MESSAGES, text, "message")
    return check_run(message) if isinstance(message, RunRequest) else message
