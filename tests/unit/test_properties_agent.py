"""Properties of what the server and the agent share: the frame decoder (any bytes, split anywhere) and the
file-name rule (no admitted name leaves the work directory)."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from padbox.core import protocol
from padbox.core.protocol import ErrorCode, ProtocolError
from padbox.web.openapi import FILE_NAME_PATTERN
from padbox_agent import names
from padbox_agent.wire import HEADER, MAX_PAYLOAD, FrameDecoder, FrameError, Kind, decode_json, encode

FRAMES = st.lists(st.tuples(st.sampled_from(Kind), st.binary(max_size=80)), max_size=8)
# Headers a broken or hostile stream could hold: unknown kinds, lengths at and past the cap.
BAD_HEADERS = st.builds(
    HEADER.pack, st.integers(0, 255), st.sampled_from([0, 1, 7, MAX_PAYLOAD, MAX_PAYLOAD + 1, 2**32 - 1])
)
PIECES = st.lists(
    FRAMES.map(lambda frames: b"".join(encode(k, p) for k, p in frames)) | BAD_HEADERS | st.binary(max_size=12),
    max_size=5,
)
STREAMS = PIECES.map(b"".join)


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    """The stream split at the given offsets (any order, repeats allowed: empty chunks are fed too)."""
    bounds = [0, *sorted(p % (len(stream) + 1) for p in points), len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


class Model:
    """What a byte stream means, read whole, written separately from FrameDecoder: its frames (with the offset
    where each became whole), the bytes left over, or the offset at which the stream became invalid."""

    def __init__(self, stream: bytes) -> None:
        self.frames: list[tuple[int, tuple[Kind, bytes]]] = []
        self.broken_at: int | None = None
        at = 0
        while len(stream) - at >= HEADER.size:
            kind, length = HEADER.unpack_from(stream, at)
            if length > MAX_PAYLOAD:  # known from the header alone
                self.broken_at = at + HEADER.size
                return
            end = at + HEADER.size + length
            if end > len(stream):
                break
            if kind not in Kind.__members__.values():  # known once the whole frame has arrived
                self.broken_at = end
                return
            self.frames.append((end, (Kind(kind), stream[at + HEADER.size : end])))
            at = end
        self.pending = len(stream) - at


@settings(max_examples=300)
@given(STREAMS, st.lists(st.integers(0, 2**16), max_size=12))
def test_any_stream_split_anywhere_decodes_as_read_whole_or_fails_as_a_frame_error(
    stream: bytes, points: list[int]
) -> None:
    model = Model(stream)
    decoder, got, fed = FrameDecoder(), [], 0
    for chunk in cut(stream, points):
        try:
            got += decoder.feed(chunk)
        except FrameError:
            # The chunk that completed the invalid part fails; the frames before that chunk came out.
            assert model.broken_at is not None and fed < model.broken_at <= fed + len(chunk)
            assert got == [frame for end, frame in model.frames if end <= fed]
            return
        fed += len(chunk)
    assert model.broken_at is None
    assert got == [frame for _, frame in model.frames]
    assert decoder.pending == model.pending


@settings(max_examples=200)
@given(FRAMES, st.lists(st.integers(0, 2**16), max_size=12))
def test_encoded_frames_come_back_whole_however_the_bytes_arrive(
    frames: list[tuple[Kind, bytes]], points: list[int]
) -> None:
    decoder, got = FrameDecoder(), []
    for chunk in cut(b"".join(encode(kind, payload) for kind, payload in frames), points):
        got += decoder.feed(chunk)
    assert got == frames and decoder.pending == 0


JSON_ISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200)
@given(
    st.binary(max_size=40)
    | JSON_ISH.map(lambda v: repr(v).replace("'", '"').encode())
    | st.integers(1, 5000).map(lambda depth: b"[" * depth)
)
def test_a_control_payload_is_an_object_or_a_frame_error(payload: bytes) -> None:
    try:
        obj: Any = decode_json(payload)
    except FrameError:
        return
    assert isinstance(obj, dict)


WORKDIR = "/work/dir"
# Parts that try every way out: parent and current directories, empty parts (`a//b`, a trailing slash),
# backslashes, NUL, absolute starts, long and multi-byte parts.
PARTS = st.sampled_from(
    [
        "..",
        ".",
        "",
        "...",
        "a",
        "main.py",
        " ",
        "\\..",
        "..\\",
        "\x00",
        "/",
        "~",
        "é" * 130,
        "x" * 256,
        "\U0001f600" * 70,
    ]
) | st.text(max_size=6)
NAMES = st.lists(PARTS, min_size=1, max_size=6).map("/".join) | st.text(
    st.characters(exclude_categories=()), max_size=20
)


@settings(max_examples=300)
@given(NAMES)
def test_no_admitted_file_name_leaves_the_work_directory(name: str) -> None:
    try:
        protocol.check_file_name(name)
    except ProtocolError as exc:
        assert exc.code is ErrorCode.BAD_REQUEST and exc.message
        return
    path = posixpath.normpath(posixpath.join(WORKDIR, name))
    assert path.startswith(WORKDIR + "/") and path != WORKDIR
    assert posixpath.relpath(path, WORKDIR) == name  # nothing in it was `..`, `.` or empty: it is its own path
    assert "\x00" not in name and "\\" not in name


@settings(max_examples=200)
@given(NAMES)
def test_an_admitted_file_name_fits_the_kernels_limits(name: str) -> None:
    """Linux refuses a path part over 255 bytes (NAME_MAX) with ENAMETOOLONG: the agent could not write it."""
    try:
        names.check_file_name(name)
    except names.BadFileName:
        return
    assert all(len(part.encode()) <= 255 for part in name.split("/"))


def fits_in_bytes(name: str) -> bool:
    try:
        return all(len(part.encode()) <= names.MAX_PART_BYTES for part in name.split("/"))
    except UnicodeEncodeError:
        return False


@settings(max_examples=300)
@given(NAMES)
def test_the_openapi_documents_file_name_rule_is_the_rule(name: str) -> None:
    """The document's pattern and length admit what the rule admits, but for the bytes a pattern cannot count."""
    try:
        names.check_file_name(name)
        admitted = True
    except names.BadFileName:
        admitted = False
    documented = re.fullmatch(FILE_NAME_PATTERN, name) is not None and len(name) <= names.MAX_NAME_LENGTH
    assert admitted == (documented and fits_in_bytes(name))
