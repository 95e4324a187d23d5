from __future__ import annotations

import hashlib
import hmac

import pytest

from padbox_agent.wire import (
    HEADER,
    MAC_SIZE,
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

KEY = bytes(range(32))


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


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1]", "JSON list, not an object"),
        (b"null", "JSON NoneType, not an object"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_a_malformed_control_payload_is_a_frame_error_that_says_why(payload: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        decode_json(payload)


def test_an_exit_signed_for_the_current_stage_verifies_to_its_result() -> None:
    signer, verifier = ExitSigner(KEY), ExitVerifier(KEY)
    result = b'{"code": 0}'
    for _ in range(3):  # compile, run, and a stage more
        signer.begin_stage()
        verifier.begin_stage()
        payload = signer.sign(result)
        assert len(payload) == MAC_SIZE + len(result)
        assert verifier.verify(payload) == result


def test_the_mac_is_the_hex_hmac_of_the_stage_number_and_the_result() -> None:
    """The wire format both ends (and any older image) rely on, byte for byte."""
    signer = ExitSigner(KEY)
    signer.begin_stage()
    signer.begin_stage()
    expected = hmac.new(KEY, b"\x00\x00\x00\x02" + b"{}", hashlib.sha256).hexdigest().encode()
    assert signer.sign(b"{}") == expected + b"{}"


def test_a_forged_replayed_or_foreign_exit_does_not_verify() -> None:
    result = b'{"code": 0}'
    signer, verifier, stranger = ExitSigner(KEY), ExitVerifier(KEY), ExitSigner(b"guessed")
    signer.begin_stage()
    stranger.begin_stage()
    compile_exit = signer.sign(result)
    signer.begin_stage()
    stranger.begin_stage()
    verifier.begin_stage()
    verifier.begin_stage()  # the run stage, after a compile
    genuine = signer.sign(result)
    tampered = genuine[:MAC_SIZE] + b'{"code": 1}'
    flipped = bytes([genuine[0] ^ 1]) + genuine[1:]
    for forged in (compile_exit, stranger.sign(result), tampered, flipped, result, b"", genuine[:MAC_SIZE]):
        assert verifier.verify(forged) is None
    assert verifier.verify(genuine) == result


def test_before_any_stage_no_exit_verifies() -> None:
    signer, verifier = ExitSigner(KEY), ExitVerifier(KEY)
    verifier.begin_stage()
    assert verifier.verify(signer.sign(b"{}")) is None  # signed as stage 0
