"""Framing between the server and the agent that runs inside every sandbox.

The agent (runner-image/agent/) is copied into the runner image together with this file,
so both ends share one definition. Standard library only: the image has no padbox package.

A frame is a 1-byte kind, a 4-byte big-endian payload length, then the payload. Control
payloads are JSON objects; output and input payloads are raw bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from enum import IntEnum

TYPE_CHECKING = False  # typing costs every sandbox's start; only the type checker needs it
if TYPE_CHECKING:
    from typing import Any

HEADER = struct.Struct(">BI")
MAX_PAYLOAD = 1 << 24


class Kind(IntEnum):
    # server -> agent
    FILES = 1  # JSON {"files": [{"name", "content"}]}: written under the work directory
    EXEC = 2  # JSON {"argv", "env", "tty", "cols", "rows", "cpu_time_s"}: start a stage's process
    STDIN = 3  # bytes for the running process's stdin
    EOF = 4  # close the running process's stdin
    SIGNAL = 5  # JSON {"signal": number}: to the running process group
    RESIZE = 6  # JSON {"cols", "rows"}
    KILL = 7  # end every process in the sandbox but the agent
    KEY = 8  # bytes: the sandbox's secret, sent once before any program runs (see ExitSigner)
    PING = 9  # empty: are you there? Sent while a process runs and the agent has said nothing for a while
    RESET = 10  # empty: the run is over; destroy its box and prepare the next (answered by READY)
    # agent -> server
    # JSON {"isolation": "namespace" | "container", "why"?, "clean"?}: the agent is listening. "namespace": every
    # run gets a box of its own; "container": boxes are not possible here ("why"), one run per container. After
    # RESET, "clean" says whether the run left the container as it found it ("why" if not).
    READY = 64
    DONE = 65  # JSON {}: FILES were written
    STDOUT = 66
    STDERR = 67
    EXIT = 68  # see ExitSigner.sign: a MAC, then JSON {"code", "signal", "wall_ms", "cpu_ms", "memory_bytes", "oom"}
    FAIL = 69  # JSON {"message"}: the agent could not do what was asked
    PONG = 70  # empty: the answer to PING, at once, whatever the program is doing


MAC_SIZE = 64


def _exit_mac(key: bytes, stage_number: int, result: bytes) -> bytes:
    """The proof that an EXIT comes from the agent: an HMAC over the stage's number and its result.

    A program can reach the agent's output stream where /proc does not protect the agent (gVisor), but it
    never sees the key, which the agent receives before any program runs; the stage number stops an
    earlier stage's EXIT from being replayed."""
    return hmac.new(key, stage_number.to_bytes(4, "big") + result, hashlib.sha256).hexdigest().encode()


class ExitSigner:
    """The agent's side: signs each stage's EXIT with the sandbox's key and the stage's number."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._stage = 0

    def begin_stage(self) -> None:
        """Called on every EXEC received, accepted or not, so the count matches the server's."""
        self._stage += 1

    def sign(self, result: bytes) -> bytes:
        """The EXIT payload: the MAC, then the result."""
        return _exit_mac(self._key, self._stage, result) + result


class ExitVerifier:
    """The server's side: accepts only the current stage's EXIT signed with the sandbox's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._stage = 0

    def begin_stage(self) -> None:
        """Called on every EXEC sent."""
        self._stage += 1

    def verify(self, payload: bytes) -> bytes | None:
        """The result without its MAC, or None when the frame is forged or replayed."""
        mac, result = payload[:MAC_SIZE], payload[MAC_SIZE:]
        if not hmac.compare_digest(mac, _exit_mac(self._key, self._stage, result)):
            return None
        return result


def encode(kind: Kind, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def json_payload(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def encode_json(kind: Kind, obj: dict[str, Any]) -> bytes:
    return encode(kind, json_payload(obj))


def decode_json(payload: bytes) -> dict[str, Any]:
    """A control payload; FrameError (with what was wrong) for anything but a JSON object."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError(f"control payload is not UTF-8: {exc}") from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FrameError(f"control payload is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FrameError(f"control payload is a JSON {type(obj).__name__}, not an object")
    return obj


class FrameError(ValueError):
    """The byte stream is not a valid frame sequence."""


class FrameDecoder:
    """Incremental decoder: feed bytes as they arrive, take whole frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[Kind, bytes]]:
        self._buffer += data
        frames: list[tuple[Kind, bytes]] = []
        while len(self._buffer) >= HEADER.size:
            raw_kind, length = HEADER.unpack_from(self._buffer)
            if length > MAX_PAYLOAD:
                raise FrameError(f"frame of {length} bytes is larger than {MAX_PAYLOAD}")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            try:
                kind = Kind(raw_kind)
            except ValueError:
                raise FrameError(f"unknown frame kind {raw_kind}") from None
            frames.append((kind, bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buffer)
