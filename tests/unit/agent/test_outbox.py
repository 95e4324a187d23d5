from __future__ import annotations

from padbox_agent.outbox import COALESCE_S, FRAME_SIZE, WRITE_SIZE, Outbox
from padbox_agent.wire import FrameDecoder, Kind, encode, encode_json


def frames(outbox: Outbox) -> list[tuple[Kind, bytes]]:
    """Everything the outbox has to write, as the server would decode it."""
    decoder = FrameDecoder()
    out: list[tuple[Kind, bytes]] = []
    while outbox.has_pending():
        data = outbox.pending()
        out += decoder.feed(data)
        outbox.written(len(data))
    assert decoder.pending == 0
    return out


def test_short_writes_in_quick_succession_become_one_frame() -> None:
    outbox = Outbox()
    for i in range(100):
        outbox.output(Kind.STDOUT, b"line\n", now=i * COALESCE_S / 1000)
    assert frames(outbox) == []  # still held
    outbox.tick(now=COALESCE_S)
    assert frames(outbox) == [(Kind.STDOUT, b"line\n" * 100)]
    assert outbox.deadline is None


def test_held_output_waits_at_most_the_coalescing_delay_from_its_first_byte() -> None:
    outbox = Outbox()
    outbox.output(Kind.STDOUT, b"a", now=10.0)
    outbox.output(Kind.STDOUT, b"b", now=10.003)
    assert outbox.deadline == 10.0 + COALESCE_S
    outbox.tick(now=10.0 + COALESCE_S / 2)
    assert frames(outbox) == []
    outbox.tick(now=10.0 + COALESCE_S)
    assert frames(outbox) == [(Kind.STDOUT, b"ab")]


def test_a_change_of_stream_keeps_the_order_of_stdout_and_stderr() -> None:
    outbox = Outbox()
    outbox.output(Kind.STDOUT, b"1", now=0)
    outbox.output(Kind.STDERR, b"2", now=0)
    outbox.output(Kind.STDERR, b"3", now=0)
    outbox.output(Kind.STDOUT, b"4", now=0)
    outbox.release()
    assert frames(outbox) == [(Kind.STDOUT, b"1"), (Kind.STDERR, b"23"), (Kind.STDOUT, b"4")]


def test_no_frame_is_larger_than_the_frame_size() -> None:
    outbox = Outbox()
    outbox.output(Kind.STDOUT, b"x" * (FRAME_SIZE - 1), now=0)
    outbox.output(Kind.STDOUT, b"y" * (FRAME_SIZE + 2), now=0)
    sent = frames(outbox)
    assert [len(payload) for _, payload in sent] == [FRAME_SIZE, FRAME_SIZE]
    outbox.release()
    assert frames(outbox) == [(Kind.STDOUT, b"y")]


def test_a_control_frame_follows_the_output_held_before_it() -> None:
    outbox = Outbox()
    outbox.output(Kind.STDERR, b"last words", now=0)
    outbox.send(encode_json(Kind.EXIT, {"code": 1}))
    assert frames(outbox) == [(Kind.STDERR, b"last words"), (Kind.EXIT, b'{"code": 1}')]


def test_partial_writes_resume_where_they_stopped() -> None:
    outbox = Outbox()
    payload = bytes(range(256)) * 4096  # 1 MiB, more than one write takes
    outbox.send(encode(Kind.STDOUT, payload))
    assert len(outbox.pending()) == WRITE_SIZE
    decoder = FrameDecoder()
    got = []
    while outbox.has_pending():
        chunk = outbox.pending()[:1000]
        got += decoder.feed(chunk)
        outbox.written(len(chunk))
    assert got == [(Kind.STDOUT, payload)]


def test_reading_stops_past_the_high_watermark_and_resumes_below_the_low_one() -> None:
    outbox = Outbox(high=1000, low=100, frame_size=10_000)
    assert outbox.should_read_outputs()
    outbox.send(encode(Kind.STDOUT, b"x" * 995))  # 1000 bytes with the header: not past high
    assert outbox.should_read_outputs()
    outbox.output(Kind.STDOUT, b"x", now=0)
    assert not outbox.should_read_outputs()
    outbox.written(500)
    assert not outbox.should_read_outputs()  # between the marks: stays off
    outbox.written(402)
    assert len(outbox) == 99
    assert outbox.should_read_outputs()
    outbox.output(Kind.STDOUT, b"x" * 500, now=0)
    assert outbox.should_read_outputs()  # between the marks: stays on


def test_discarding_forgets_everything() -> None:
    outbox = Outbox()
    outbox.output(Kind.STDOUT, b"x", now=0)
    outbox.send(encode(Kind.STDOUT, b"y"))
    outbox.discard()
    assert len(outbox) == 0 and not outbox.has_pending() and outbox.deadline is None
