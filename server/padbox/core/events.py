"""Every message the server sends, as a typed value: defined once, encoded once at the edge.

The run engine, sharing, the HTTP fold, metrics and the session log all consume these types, never
dict keys. Each is a frozen msgspec Struct tagged by its `type` field, so `encode` gives exactly the
JSON frame docs/protocol.md describes, and `decode` (used by clients and tests) reads one back.
msgspec rather than pydantic: the run engine builds one of these for every output chunk, and msgspec
encodes them several times faster, with the same JSON Schema generation the OpenAPI document needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from padbox.core.protocol import ErrorCode, ProtocolError, Role, ServerType, Stage, Verdict


class Event(msgspec.Struct, frozen=True, tag_field="type"):
    """A server message; its class's tag is its `type`."""


class Started(Event, frozen=True, tag=ServerType.STARTED.value, omit_defaults=True):
    """The run has its sandbox. `driver_key` lets others join it and type, `viewer_key` only watch (both
    absent from HTTP answers)."""

    id: str
    language: str
    version: str
    driver_key: str | None = None
    viewer_key: str | None = None


class StageBegan(Event, frozen=True, tag=ServerType.STAGE.value):
    stage: Stage


class Output(Event, frozen=True):
    """Text a stage wrote: Stdout or Stderr (a terminal's output is all Stdout)."""

    stage: Stage
    data: str


class Stdout(Output, frozen=True, tag=ServerType.STDOUT.value):
    pass


class Stderr(Output, frozen=True, tag=ServerType.STDERR.value):
    pass


class Exited(Event, frozen=True, tag=ServerType.EXIT.value):
    """How one stage ended."""

    stage: Stage
    code: int | None
    signal: str | None
    verdict: Verdict
    wall_ms: int
    cpu_ms: int | None
    memory_bytes: int | None


class Error(Event, frozen=True, tag=ServerType.ERROR.value, omit_defaults=True):
    """The run (or the request) ended with a problem; `retry_after_s` comes with `busy`."""

    code: ErrorCode
    message: str
    retry_after_s: int | None = None

    @classmethod
    def of(cls, problem: ProtocolError) -> Error:
        return cls(problem.code, problem.message, problem.retry_after_s)

    def problem(self) -> ProtocolError:
        return ProtocolError(self.code, self.message, self.retry_after_s)


class Queued(Event, frozen=True, tag=ServerType.QUEUED.value):
    position: int


class Presence(Event, frozen=True, tag=ServerType.PRESENCE.value):
    drivers: int
    viewers: int


class Typed(Event, frozen=True, tag=ServerType.INPUT.value):
    """Shared pipe-mode runs: what one driver typed, shown to the others."""

    data: str


class FileEntry(msgspec.Struct, frozen=True):
    name: str
    content: str


class Snapshot(Event, frozen=True, tag=ServerType.SNAPSHOT.value, omit_defaults=True):
    """A joiner's first frame: the run as it stands, then the frames it missed."""

    id: str
    role: Role
    language: str
    version: str
    files: tuple[FileEntry, ...]
    limits: Mapping[str, float]
    tty: bool
    stage: Stage | None
    frames: tuple[AnyEvent, ...]
    omitted_bytes: int
    # The keys this role may pass on: a driver gets both, a viewer only the viewer key.
    viewer_key: str | None = None
    driver_key: str | None = None


AnyEvent = Started | StageBegan | Stdout | Stderr | Exited | Error | Queued | Presence | Typed | Snapshot

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AnyEvent)


def encode(event: Event) -> str:
    """The text frame. Output text comes from a replacing UTF-8 decoder, so it holds no lone surrogates."""
    return _encoder.encode(event).decode()


def decode(text: str | bytes) -> AnyEvent:
    """A server frame read back (clients and tests); raises msgspec.ValidationError if it is not one."""
    return _decoder.decode(text)


def as_dict(event: Event) -> dict[str, Any]:
    """The frame as a JSON-ready dict (log lines embed `exit` fields this way)."""
    value = msgspec.to_builtins(event)
    assert isinstance(value, dict)
    return value
