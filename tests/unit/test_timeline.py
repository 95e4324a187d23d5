"""The interview's story without a network or Docker: a recorder hears what is typed into a terminal, the
transcript's bounds, marks as actions, the webhook's signature and its reference verifier, the backoff's
arithmetic, and the outbox's leases on SQLite (one holder at a time; an expired lease taken over with the same id)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from padbox.core.protocol import Role, StdinMessage
from padbox.core.sharing import SharedRun, ShareRegistry
from padbox.pads import timeline
from padbox.pads.messages import FocusAction, NoteAction, PasteAction, read_action
from padbox.pads.model import PadError, PadRole
from padbox.pads.pad_runs import Transcript
from padbox.pads.store import Author, PadRecord, PadStore, UpdateRecord
from padbox.pads.webhook_outbox import WebhookOutbox
from padbox.webhooks.delivery import MAX_BACKOFF_S, WebhookSettings, retry_at
from padbox.webhooks.signing import Rejected, Verifier, check_signature, signature


# --- typed input reaches the recorder ---------------------------------------------------------------------------
def terminal_session(emit: Any) -> Any:
    plan = SimpleNamespace(
        language=SimpleNamespace(id="python"), version="3", files=(), tty=True, limits=SimpleNamespace(as_dict=dict)
    )

    async def send_stdin(data: str) -> None:
        pass

    return SimpleNamespace(id="run1", plan=plan, emit=emit, send_stdin=send_stdin)


async def execute_nothing(session: Any) -> None:
    pass


async def test_in_a_terminal_only_the_recorder_is_sent_what_a_driver_types() -> None:
    run = SharedRun(terminal_session, execute_nothing, ShareRegistry(4, 10, 1 << 20))
    recorder = run.attach_starter()
    recorder.hears_input = True
    typist, watcher = run.join(Role.DRIVER), run.join(Role.VIEWER)
    for participant in (recorder, typist, watcher):  # snapshots and presence
        while participant.outbox.size:
            await participant.outbox.take()
    await run.input(typist, StdinMessage("Grace\n"))
    frame = await recorder.outbox.take()
    assert frame is not None and frame.event.data == "Grace\n"
    assert typist.outbox.size == watcher.outbox.size == 0, "the terminal echoes it to the others itself"
    assert not any(getattr(e, "data", None) == "Grace\n" for e in run.replay.frames), "a joiner's echo shows it"


def test_the_transcript_keeps_times_coalesces_close_chunks_and_stops_at_its_limit() -> None:
    transcript = Transcript(limit=20)
    transcript.add(100.0, "out", "name? ")
    transcript.add(100.01, "out", "> ")
    transcript.add(101.0, "in", "Grace\n")
    transcript.add(101.5, "out", "hello Grace and more")
    assert transcript.entries == [(100.0, "out", "name? > "), (101.0, "in", "Grace\n"), (101.5, "out", "hello ")]
    assert transcript.truncated and transcript.size == 20
    transcript.add(102.0, "in", "ignored")
    assert len(transcript.entries) == 3


# --- marks ------------------------------------------------------------------------------------------------------
def test_marks_are_read_as_actions_and_bad_ones_are_bad_requests() -> None:
    assert read_action('{"type": "paste", "size": 120}') == PasteAction(120)
    assert read_action('{"type": "focus", "state": "hidden"}') == FocusAction("hidden")
    assert read_action('{"type": "note", "text": "good"}') == NoteAction("good")
    for bad in (
        '{"type": "paste", "size": 0}',
        '{"type": "paste", "size": 1e12}',
        '{"type": "focus", "state": "away"}',
        '{"type": "note", "text": ""}',
        '{"type": "note", "text": "x", "at": 1}',
        '{"type": "note", "text": "' + "x" * 5000 + '"}',
    ):
        with pytest.raises(PadError) as refused:
            read_action(bad)
        assert refused.value.wire_code == "bad_request", bad


def test_each_action_becomes_its_mark_stamped_by_the_server() -> None:
    author = Author("Grace", PadRole.EDIT)
    assert timeline.record(PasteAction(300), author, 5.0).size == 300
    assert timeline.record(FocusAction("lost"), author, 5.0).kind == "focus_lost"
    assert timeline.record(FocusAction("visible"), author, 5.0).kind == "visible"
    note = timeline.record(NoteAction("pinned"), Author("Olga", PadRole.OWNER), 6.0)
    assert (note.kind, note.text, note.at) == ("note", "pinned", 6.0)


# --- signing ----------------------------------------------------------------------------------------------------
def test_the_signature_covers_the_timestamp_and_the_body() -> None:
    body = b'{"event": "pad.ended"}'
    header = signature("s3cret", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert check_signature("s3cret", header, body, now=1_700_000_100) == 1_700_000_000
    forged_time = header.replace("t=1700000000", "t=1700000099")
    for secret, sent, given in (
        ("s3cret", forged_time, body),
        ("other", header, body),
        ("s3cret", header, body + b" "),
    ):
        with pytest.raises(Rejected, match="does not match"):
            check_signature(secret, sent, given, now=1_700_000_100)
    with pytest.raises(Rejected, match="tolerance"):
        check_signature("s3cret", header, body, now=1_700_000_000 + 301)
    with pytest.raises(Rejected, match="malformed"):
        check_signature("s3cret", "v1=abc", body, now=1_700_000_000)


def test_the_verifier_accepts_a_delivery_once_and_knows_its_repeats() -> None:
    now = time.time()
    body = b"{}"
    first = {"Padbox-Signature": signature("k", int(now), body), "Padbox-Delivery": "d-1"}
    retry = {"padbox-signature": signature("k", int(now) + 30, body), "padbox-delivery": "d-1"}
    verifier = Verifier("k")
    assert verifier.verify(first, body, now) is True
    assert verifier.verify(retry, body, now + 30) is False
    assert verifier.verify(first, body, now + 60) is False, "a replay inside the window"
    with pytest.raises(Rejected, match="tolerance"):
        verifier.verify(first, body, now + 400)
    with pytest.raises(Rejected, match="Padbox-Delivery"):
        verifier.verify({"Padbox-Signature": first["Padbox-Signature"]}, body, now)


def test_retries_back_off_exponentially_and_stop_at_the_deadline() -> None:
    settings = WebhookSettings("http://x", "k", timeout_s=10, retry_for_s=600, backoff_s=5, lease_s=60, poll_s=1)
    created = 1000.0
    delays = [retry_at(settings, created, attempts, created + 1) for attempts in (1, 2, 3, 4)]
    assert [d - (created + 1) for d in delays if d is not None] == [5, 10, 20, 40]
    assert retry_at(settings, created, 9, created + 550) == created + 600, "one last attempt at the deadline"
    assert retry_at(settings, created, 10, created + 600) is None, "given up"
    long = WebhookSettings("http://x", "k", 10, 10**9, 5, 60, 1)
    assert retry_at(long, 0, 40, 1) == 1 + MAX_BACKOFF_S


# --- the outbox -------------------------------------------------------------------------------------------------
@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PadStore]:
    pad_store = PadStore(f"sqlite+aiosqlite:///{tmp_path / 'pads.db'}")
    await pad_store.open()
    yield pad_store
    await pad_store.close()


async def ended_pad(store: PadStore, pad_id: str, at: float) -> str:
    keys = {role: "d" * 64 for role in PadRole}
    await store.create(
        PadRecord(pad_id, "t", "python", at, at, None, keys), UpdateRecord(0, at, Author("server", PadRole.OWNER), b"")
    )
    delivery = await store.end(pad_id, at, "pad.ended")
    assert delivery is not None
    return delivery


async def test_a_pads_end_writes_its_delivery_and_only_one_node_holds_it(store: PadStore) -> None:
    outbox = WebhookOutbox(store.engine)
    delivery = await ended_pad(store, "pad1", 100.0)
    assert await outbox.due(100.0) == [delivery]
    held = await outbox.claim(delivery, "n1", 100.0, lease_s=30)
    assert held is not None and held.pad_id == "pad1" and held.attempts == 0 and held.body is None
    assert await outbox.claim(delivery, "n2", 110.0, lease_s=30) is None, "leased to n1"
    assert await outbox.due(110.0) == []
    assert await outbox.freeze(delivery, b"first") == b"first"
    # n1 dies mid-delivery: after its lease another node takes the row, with the same id and the same body.
    taken = await outbox.claim(delivery, "n2", 131.0, lease_s=30)
    assert taken is not None and taken.delivery_id == delivery and taken.body == b"first"
    assert await outbox.freeze(delivery, b"second") == b"first", "the body is frozen at the first attempt"
    await outbox.delivered(delivery, 132.0, attempts=1)
    assert await outbox.due(10_000.0) == [] and await outbox.pending() == 0


async def test_a_failed_attempt_is_due_again_later_and_a_given_up_one_never(store: PadStore) -> None:
    outbox = WebhookOutbox(store.engine)
    delivery = await ended_pad(store, "pad2", 100.0)
    assert await outbox.claim(delivery, "n1", 100.0, 30) is not None
    await outbox.failed(delivery, 1, "HTTP 500", retry_at=105.0, at=100.5)
    assert await outbox.due(104.0) == [] and await outbox.due(105.0) == [delivery]
    again = await outbox.claim(delivery, "n1", 105.0, 30)
    assert again is not None and again.attempts == 1
    await outbox.failed(delivery, 2, "HTTP 500", retry_at=None, at=106.0)
    assert await outbox.due(10_000.0) == [] and await outbox.pending() == 0


async def test_a_stopping_node_releases_its_delivery_to_the_others(store: PadStore) -> None:
    outbox = WebhookOutbox(store.engine)
    delivery = await ended_pad(store, "pad3", 100.0)
    assert await outbox.claim(delivery, "n1", 100.0, 30) is not None
    await outbox.release(delivery, "n2")  # not its lease: nothing changes
    assert await outbox.claim(delivery, "n2", 101.0, 30) is None
    await outbox.release(delivery, "n1")
    assert await outbox.claim(delivery, "n2", 101.0, 30) is not None


async def test_without_a_webhook_a_pads_end_owes_nothing_and_purging_forgets_its_rows(store: PadStore) -> None:
    outbox = WebhookOutbox(store.engine)
    keys = {role: "d" * 64 for role in PadRole}
    first = UpdateRecord(0, 1.0, Author("server", PadRole.OWNER), b"")
    await store.create(PadRecord("quiet", "t", "python", 1.0, 1.0, None, keys), first)
    assert await store.end("quiet", 2.0) is None
    await ended_pad(store, "old", 3.0)
    assert await outbox.pending() == 1
    assert set(await store.purge(inactive_before=10.0)) == {"quiet", "old"}
    assert await outbox.pending() == 0


def test_a_tab_switch_is_one_focus_loss_in_the_report() -> None:
    from padbox.pads.messages import AuthorInfo, MarkEntry
    from padbox.questions.report import away_moments

    grace, ada = AuthorInfo("Grace", PadRole.EDIT), AuthorInfo("Ada", PadRole.EDIT)
    kinds = [("focus_lost", grace), ("hidden", grace), ("visible", grace), ("focus_regained", grace)]
    kinds += [("hidden", grace), ("focus_lost", ada), ("visible", grace), ("focus_lost", grace)]
    marks = tuple(MarkEntry(float(i), kind, who) for i, (kind, who) in enumerate(kinds))
    assert [(m.at, m.author.name) for m in away_moments(marks)] == [
        (0.0, "Grace"),
        (4.0, "Grace"),
        (5.0, "Ada"),
        (7.0, "Grace"),
    ]
