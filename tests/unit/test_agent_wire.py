from __future__ import annotations

import pytest
from padbox_agent.wire import HEADER, MAX_PAYLOAD, FrameDecoder, FrameError, Kind, decode_json, encode, encode_json


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


def test_an_exit_is_authentic_only_with_the_sandboxs_key_and_stage() -> None:
    from types import SimpleNamespace

    from padbox.backends.docker import Sandbox
    from padbox_agent.wire import exit_mac

    sandbox = Sandbox(SimpleNamespace(id="c0ffee"), None, "abc", None)  # type: ignore[arg-type]
    sandbox._stages = 2  # the run stage, after a compile
    result = b'{"code": 0}'
    genuine = exit_mac(sandbox.key, 2, result) + result
    assert sandbox._authentic((Kind.EXIT, genuine)) == (Kind.EXIT, result)
    forged_key = exit_mac(b"guessed", 2, result) + result
    replayed = exit_mac(sandbox.key, 1, result) + result  # the compile stage's EXIT, sent again
    for forged in (forged_key, replayed, result, b""):
        assert sandbox._authentic((Kind.EXIT, forged)) is None
    assert sandbox._authentic((Kind.STDOUT, b"any output")) == (Kind.STDOUT, b"any output")
