from __future__ import annotations

import pytest

from server.agent_wire import HEADER, MAX_PAYLOAD, FrameDecoder, FrameError, Kind, decode_json, encode, encode_json


def test_frames_survive_being_split_at_every_byte() -> None:
    stream = encode(Kind.STDOUT, b"hello") + encode_json(Kind.EXIT, {"code": 0}) + encode(Kind.STDERR, b"")
    decoder = FrameDecoder()
    frames = []
    for i in range(len(stream)):
        frames += decoder.feed(stream[i : i + 1])
    assert frames == [(Kind.STDOUT, b"hello"), (Kind.EXIT, b'{"code": 0}'), (Kind.STDERR, b"")]
    assert decoder.pending == 0
    assert decode_json(frames[1][1]) == {"code": 0}


def test_garbage_is_refused() -> None:
    with pytest.raises(FrameError):
        FrameDecoder().feed(HEADER.pack(200, 0))
    with pytest.raises(FrameError):
        FrameDecoder().feed(HEADER.pack(Kind.STDOUT, MAX_PAYLOAD + 1))
    with pytest.raises(ValueError):
        decode_json(b"[1]")
