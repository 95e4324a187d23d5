"""Pads without a network or Docker: roles and keys, limits arithmetic, the store on SQLite in a temporary
directory (history, runs, retention), and a room's refusals."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map, Text, create_awareness_message, create_sync_message, create_update_message

from padbox.core.protocol import PadCloseCode, ProtocolError, SourceFile
from padbox.pads import model
from padbox.pads.messages import RunTestsAction, read_action
from padbox.pads.model import PadContent, PadError, PadLimits, PadRole, RateBudget
from padbox.pads.pad_runs import OutputLog
from padbox.pads.rooms import Peer, Room, load
from padbox.pads.store import Author, PadRecord, PadStore, RunEnd, RunStart, StorageFailed, UpdateRecord


# --- roles and keys ------------------------------------------------------------------------------------------
def test_each_role_may_do_exactly_its_own() -> None:
    assert [r.can_edit for r in PadRole] == [True, True, False]
    assert [r.is_owner for r in PadRole] == [True, False, False]
    assert [r.run_role.value for r in PadRole] == ["driver", "driver", "viewer"]


def test_a_key_grants_its_own_role_and_nothing_else() -> None:
    keys = {role: model.new_key() for role in PadRole}
    digests = {role: model.key_digest(key) for role, key in keys.items()}
    for role, key in keys.items():
        assert model.role_of(key, digests) is role
    assert model.role_of(keys[PadRole.VIEW] + "x", digests) is None
    assert model.role_of("", digests) is None
    assert all(len(key) == 32 for key in keys.values()), "192 bits as URL-safe base64"
    assert keys[PadRole.OWNER] not in digests.values(), "only digests are kept"


def test_display_names_are_trimmed_bounded_and_default_to_the_role() -> None:
    assert model.display_name("  Ada \n Lovelace ", PadRole.EDIT) == "Ada Lovelace"
    assert model.display_name(None, PadRole.VIEW) == "view"
    assert len(model.display_name("x" * 500, PadRole.EDIT)) == model.MAX_NAME


# --- limits --------------------------------------------------------------------------------------------------
def test_the_rate_budget_allows_a_burst_then_the_rate() -> None:
    budget = RateBudget(rate=10)
    assert sum(budget.take(0.0) for _ in range(100)) == 40, "4 seconds' worth at once"
    assert not budget.take(0.0)
    assert budget.take(0.1) and not budget.take(0.1), "one message per tenth of a second after that"


def doc_of(content: PadContent) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    model.write_content(doc, content)
    return doc


CONTENT = PadContent((SourceFile("main.py", "print(1)"), SourceFile("util.py", "x = 2")), "python", "util.py", "T")


def test_a_pages_action_on_the_events_socket_is_read_and_anything_else_ignored() -> None:
    assert read_action('{"type": "run_tests"}') == RunTestsAction()
    assert read_action(b'{"type": "run_tests", "name": "Carl"}') == RunTestsAction("Carl")
    for ignored in ("ping", "", "[1]", '{"type": "pad"}', '{"no": "type"}'):
        assert read_action(ignored) is None
    for bad in ('{"type": "run_tests", "name": 5}', '{"type": "run_tests", "extra": 1}'):
        with pytest.raises(PadError) as refused:
            read_action(bad)
        assert refused.value.code.value == "bad_request" and refused.value.message.startswith("run_tests: ")
    with pytest.raises(PadError):
        read_action(f'{{"type": "run_tests", "name": "{"x" * (model.MAX_NAME + 1)}"}}')


def test_the_document_layout_reads_back_as_written() -> None:
    assert model.read_content(doc_of(CONTENT)) == CONTENT


def test_documents_past_the_size_or_the_file_count_are_refused() -> None:
    limits = PadLimits(max_bytes=1024, max_files=2)
    model.check_limits(doc_of(CONTENT), limits)
    big = PadContent((SourceFile("a.py", "x" * 2000),), "python", "a.py", "T")
    with pytest.raises(PadError) as refused:
        model.check_limits(doc_of(big), limits)
    assert refused.value.close == PadCloseCode.TOO_LARGE and refused.value.status == 413
    three = PadContent(tuple(SourceFile(f"{i}.py", "") for i in range(3)), "python", "0.py", "T")
    with pytest.raises(PadError, match="at most 2"):
        model.check_limits(doc_of(three), limits)


def test_a_pad_runs_its_entry_first_with_the_other_files() -> None:
    request = model.run_request(CONTENT)
    assert [f.name for f in request.files or ()] == ["util.py", "main.py"] and request.language == "python"
    assert request.tty
    with pytest.raises(ProtocolError, match="no files"):
        model.run_request(PadContent((), "python", "", "T"))
    with pytest.raises(ProtocolError):
        model.run_request(PadContent((SourceFile("../escape.py", ""),), "python", "", "T"))


def test_a_new_pads_content_takes_defaults_and_refuses_bad_files() -> None:
    default = model.initial_content("python", None, None, None, "main.py", "print('hi')\n")
    assert default == PadContent((SourceFile("main.py", "print('hi')\n"),), "python", "main.py", model.DEFAULT_TITLE)
    with pytest.raises(ProtocolError, match="appears twice"):
        model.initial_content("python", "t", [SourceFile("a.py", ""), SourceFile("a.py", "")], None, "m", "")
    with pytest.raises(ProtocolError, match="not one of the files"):
        model.initial_content("python", "t", [SourceFile("a.py", "")], "b.py", "m", "")


def test_the_history_keeps_the_first_bytes_of_a_runs_output() -> None:
    log = OutputLog(limit=5)
    log.add("abc")
    log.add("déf")  # é is two bytes: cut inside it, it is dropped, not half-kept
    log.add("more")
    assert log.text == "abcd" and log.truncated


# --- the store -----------------------------------------------------------------------------------------------
@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PadStore]:
    pad_store = PadStore(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'pads.db'}")
    await pad_store.open()
    yield pad_store
    await pad_store.close()


def record(pad_id: str = "pad1", at: float = 1000.0) -> PadRecord:
    return PadRecord(pad_id, "T", "python", at, at, None, {role: model.key_digest(role.value) for role in PadRole})


async def test_the_store_keeps_updates_in_order_with_time_and_author(store: PadStore) -> None:
    doc = doc_of(CONTENT)
    await store.create(record(), UpdateRecord(0, 1000.0, Author("server", PadRole.OWNER), doc.get_update()))
    edit = Author("Ada", PadRole.EDIT)
    for seq in (1, 2):
        await store.append_update("pad1", UpdateRecord(seq, 1000.0 + seq, edit, bytes([seq]) * 3))
    updates = await store.updates("pad1")
    assert [(u.seq, u.at, u.author) for u in updates[1:]] == [(1, 1001.0, edit), (2, 1002.0, edit)]
    assert updates[2].data == b"\x02\x02\x02"
    pad = await store.get("pad1")
    assert pad is not None and pad.active_at == 1002.0 and pad.keys[PadRole.VIEW] == model.key_digest("view")
    assert await store.get("nothing") is None


async def test_the_store_keeps_runs_notes_keys_and_the_end(store: PadStore) -> None:
    await store.create(record(), UpdateRecord(0, 1000.0, Author("server", PadRole.OWNER), b"\x00\x00"))
    start = RunStart("run1", 1010.0, Author("Ada", PadRole.EDIT), "python", [{"name": "main.py", "content": "1"}])
    await store.run_started("pad1", start)
    (going,) = await store.runs("pad1")
    assert going.start == start and going.end is None
    end = RunEnd(1011.0, "out", False, "ok", 0, None, {"wall_ms": 5}, None)
    await store.run_finished("pad1", "run1", end)
    (done,) = await store.runs("pad1")
    assert done.end == end
    await store.set_notes("pad1", "hire", 1020.0)
    assert await store.notes("pad1") == "hire"
    await store.set_key("pad1", PadRole.EDIT, "new-digest")
    await store.end("pad1", 1030.0)
    pad = await store.get("pad1")
    assert pad is not None and pad.keys[PadRole.EDIT] == "new-digest" and pad.ended_at == 1030.0


async def test_a_database_failure_leaves_the_store_as_the_pads_own_error(store: PadStore) -> None:
    async with store.engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE pad_updates")
    with pytest.raises(StorageFailed):
        await store.updates("any")


async def test_retention_purges_idle_pads_with_their_history_but_not_open_ones(store: PadStore) -> None:
    for pad_id, at in (("old", 100.0), ("open", 100.0), ("new", 5000.0)):
        await store.create(record(pad_id, at), UpdateRecord(0, at, Author("server", PadRole.OWNER), b"\x00\x00"))
        await store.run_started(pad_id, RunStart("r", at, Author("a", PadRole.EDIT), "python", []))
    assert await store.purge(1000.0, keep=frozenset({"open"})) == ["old"]
    assert await store.get("old") is None and await store.updates("old") == [] and await store.runs("old") == []
    assert await store.get("open") is not None and await store.get("new") is not None


# --- a room's refusals ---------------------------------------------------------------------------------------
@pytest.fixture
async def room(store: PadStore) -> Room:
    doc = doc_of(PadContent((SourceFile("main.py", "x"),), "python", "main.py", "T"))
    await store.create(record(), UpdateRecord(0, time.time(), Author("server", PadRole.OWNER), doc.get_update()))
    pad = await store.get("pad1")
    assert pad is not None
    return await load(store, pad, PadLimits(max_bytes=4096, max_files=3, max_participants=3, messages_per_s=50))


def edit_of(room: Room, change: Any) -> bytes:
    """An update made on a copy of the room's document, as a client would send it."""
    copy: Doc[Any] = Doc()
    copy.apply_update(room.doc.get_update())
    before = copy.get_state()
    change(copy)
    return create_update_message(copy.get_update(before))


def add_text(name: str, text: str) -> Any:
    def change(doc: Doc[Any]) -> None:
        doc.get("files", type=Map)[name] = Text(text)

    return change


def drained(peer: Peer) -> list[bytes | str]:
    out = list(peer.outgoing.messages)
    peer.outgoing.messages.clear()
    peer.outgoing.size = 0
    return out


async def test_an_editors_update_is_stored_then_relayed_to_the_others(room: Room, store: PadStore) -> None:
    a, b = room.join(PadRole.EDIT, "a"), room.join(PadRole.VIEW, "b")
    assert drained(a) == [create_sync_message(room.doc)], "a joiner is sent the server's state vector"
    drained(b)
    message = edit_of(room, add_text("new.py", "hello"))
    await room.receive(a, message)
    assert drained(b) == [message] and drained(a) == [], "relayed to the others, not echoed"
    assert SourceFile("new.py", "hello") in model.read_content(room.doc).files
    assert [u.author for u in await store.updates("pad1")][-1] == Author("a", PadRole.EDIT)


async def test_a_viewers_and_an_ended_pads_updates_are_neither_applied_stored_nor_relayed(
    room: Room, store: PadStore
) -> None:
    viewer, editor = room.join(PadRole.VIEW, "v"), room.join(PadRole.EDIT, "e")
    drained(editor)
    before = room.doc.get_update()
    await room.receive(viewer, edit_of(room, add_text("evil.py", "x")))
    assert room.doc.get_update() == before and drained(editor) == [] and viewer.refused == 1
    room.end(time.time())
    await room.receive(editor, edit_of(room, add_text("late.py", "x")))
    assert room.doc.get_update() == before and editor.refused == 1
    assert len(await store.updates("pad1")) == 1


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (b"", PadCloseCode.MALFORMED),
        (b"\x07\x00", PadCloseCode.MALFORMED),  # no such message type
        (b"\x00\x09\x01\x00", PadCloseCode.MALFORMED),  # no such sync step
        (b"\x00\x02\x03abc", PadCloseCode.MALFORMED),  # an update that does not decode
        (b"\x01\x05\x01\x02", PadCloseCode.MALFORMED),  # a truncated awareness update
    ],
)
async def test_malformed_messages_are_refused_and_leave_the_document_alone(
    room: Room, message: bytes, code: int
) -> None:
    peer = room.join(PadRole.EDIT, "e")
    before = room.doc.get_update()
    with pytest.raises(PadError) as refused:
        await room.receive(peer, message)
    assert refused.value.close == code and room.doc.get_update() == before


async def test_an_edit_past_the_limits_is_refused_before_it_touches_the_document(room: Room) -> None:
    peer = room.join(PadRole.EDIT, "e")
    before = room.doc.get_update()
    with pytest.raises(PadError, match="KiB"):
        await room.receive(peer, edit_of(room, add_text("big.py", "x" * 5000)))
    with pytest.raises(PadError, match="at most 3"):
        await room.receive(peer, edit_of(room, lambda d: [add_text(f"{i}.py", "")(d) for i in range(3)]))
    assert room.doc.get_update() == before


async def test_participants_and_message_rate_are_bounded(room: Room) -> None:
    peers = [room.join(PadRole.VIEW, str(i)) for i in range(3)]
    with pytest.raises(PadError) as full:
        room.join(PadRole.VIEW, "one too many")
    assert full.value.close == PadCloseCode.TOO_FAST
    ask = create_sync_message(room.doc)
    with pytest.raises(PadError, match="messages a second") as fast:
        for _ in range(1000):
            await room.receive(peers[0], ask)
    assert fast.value.close == PadCloseCode.TOO_FAST
    await room.receive(peers[1], ask)  # the others are unaffected


async def test_awareness_is_relayed_and_removed_when_its_socket_leaves(room: Room) -> None:
    a, b = room.join(PadRole.EDIT, "a"), room.join(PadRole.VIEW, "b")
    drained(a), drained(b)
    state = b'{"user":{"name":"a"}}'
    update = bytes([1, 42, 1, len(state)]) + state  # one client (42), clock 1, its state
    message = create_awareness_message(update)
    await room.receive(a, message)
    assert drained(b) == [message] and 42 in room.awareness.states
    room.leave(a)
    assert 42 not in room.awareness.states
    (removal,) = drained(b)
    assert isinstance(removal, bytes) and removal.endswith(b"null"), "the others are told it is gone"
