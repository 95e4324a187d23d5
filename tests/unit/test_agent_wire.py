from __future__ import annotations

import pytest
from padbox_agent.wire import (
    HEADER,
    MAX_PAYLOAD,
    ExitSigner,
    ExitVerifier,
    FrameDecoder,
    FrameError,
    Kind,
    decode_json,
    encode,
    encode_json,
)


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
    key = b"k" * 32
    signer, verifier = ExitSigner(key), ExitVerifier(key)
    result = b'{"code": 0}'
    signer.begin_stage()
    verifier.begin_stage()
    compile_exit = signer.sign(result)
    signer.begin_stage()
    verifier.begin_stage()  # the run stage, after a compile
    assert verifier.verify(signer.sign(result)) == result
    guessed = ExitSigner(b"guessed")
    guessed.begin_stage()
    guessed.begin_stage()
    for forged in (guessed.sign(result), compile_exit, result, b""):
        assert verifier.verify(forged) is None
