"""Where a pad's room lives, without Redis: the Pads service over an in-memory PadHomes (the interface padbox.cluster
implements over Redis; the Redis side is tested against a real Redis in tests/cluster/test_pads.py), two rooms of
one pad racing on the store, and the pure choice of the node a leaving node hands a pad to."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pycrdt import Doc, Map, Text, create_update_message

from padbox.cluster.pad_claims import successor
from padbox.core.door import Door, ShuttingDown
from padbox.core.protocol import CloseCode
from padbox.core.runner import Runner
from padbox.pads import model
from padbox.pads.homes import Elsewhere, LostHandler, OneServer
from padbox.pads.model import PadLimits, PadRole
from padbox.pads.rooms import load
from padbox.pads.service import Pads, PadSettings
from padbox.pads.store import Author, PadRecord, PadStore, UpdateRecord

PAD = "pad1"
KEYS = {role: f"{role.value}-key-0123456789abcdefghij" for role in PadRole}


class FakeHomes:
    """Claims held in a dict, as one node sees them: `elsewhere` names pads another node holds."""

    shared = True

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.elsewhere: dict[str, str] = {}
        self.claims: list[tuple[str, bool]] = []
        self.released: list[str] = []
        self.lost: list[LostHandler] = []

    async def claim(self, pad_id: str, may_take: bool) -> None:
        self.claims.append((pad_id, may_take))
        if pad_id in self.elsewhere:
            raise Elsewhere("n2", self.elsewhere[pad_id])
        if not may_take:
            raise Elsewhere("n3", "10.0.0.3:8000")  # a node that stays
        self.held.add(pad_id)

    async def release(self, pad_ids: Iterable[str]) -> None:
        for pad_id in pad_ids:
            if pad_id in self.held:
                self.held.discard(pad_id)
                self.released.append(pad_id)

    def on_lost(self, handler: LostHandler) -> None:
        self.lost.append(handler)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PadStore]:
    pad_store = PadStore(f"sqlite+aiosqlite:///{tmp_path / 'pads.db'}")
    await pad_store.open()
    doc: Doc[Any] = Doc()
    doc.get("files", type=Map)["main.py"] = Text("x")
    keys = {role: model.key_digest(key) for role, key in KEYS.items()}
    pad = PadRecord(PAD, "T", "python", time.time(), time.time(), None, keys)
    await pad_store.create(pad, UpdateRecord(0, time.time(), Author("server", PadRole.OWNER), doc.get_update()))
    yield pad_store
    await pad_store.close()


def pads_over(store: PadStore, homes: Any) -> Pads:
    door = cast(Door, SimpleNamespace(draining=False))  # the part of the door that joining a pad reads
    runner = cast(Runner, None)  # joining a pad starts no run
    return Pads(store, runner, door, PadSettings(PadLimits(), retention_days=30, run_output_bytes=1024), homes)


async def settled() -> None:
    """Let the release tasks a room's unloading schedules run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_pad_held_by_another_node_opens_no_room_here(store: PadStore) -> None:
    homes = FakeHomes()
    homes.elsewhere[PAD] = "10.0.0.2:8000"
    pads = pads_over(store, homes)
    with pytest.raises(Elsewhere) as there:
        await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    assert there.value.address == "10.0.0.2:8000" and pads.rooms == {}
    with pytest.raises(model.PadError):  # a wrong key is refused before anyone is asked where the pad is
        await pads.join(PAD, "wrong", "ada")
    assert homes.claims == [(PAD, True)]


async def test_the_claim_goes_with_the_room_and_comes_back_with_it(store: PadStore) -> None:
    homes = FakeHomes()
    pads = pads_over(store, homes)
    room, first = await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    _, second = await pads.join(PAD, KEYS[PadRole.VIEW], "bob")
    assert homes.claims == [(PAD, True)], "one claim per room, not per socket"
    pads.leave(room, first)
    await settled()
    assert homes.released == [], "someone is still in the room"
    pads.leave(room, second)
    await settled()
    assert homes.released == [PAD] and PAD not in pads.rooms
    await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    assert homes.claims == [(PAD, True), (PAD, True)] and PAD in homes.held


async def test_handing_off_closes_every_room_with_1012_and_sends_later_sockets_to_a_node_that_stays(
    store: PadStore,
) -> None:
    homes = FakeHomes()
    pads = pads_over(store, homes)
    room, peer = await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    _, listener = await pads.listen(PAD, KEYS[PadRole.VIEW], "bob")
    await pads.hand_off()
    assert peer.outgoing.close_code == listener.outgoing.close_code == CloseCode.SERVICE_RESTART
    assert homes.released == [PAD] and pads.rooms == {}
    with pytest.raises(Elsewhere) as there:
        await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    assert there.value.node == "n3" and homes.claims[-1] == (PAD, False), "a leaving node takes no pad"
    pads.leave(room, peer)  # the closed sockets' endpoints leave afterwards: nothing breaks, nothing is claimed
    await settled()
    assert homes.held == set()


async def test_a_single_server_is_every_pads_home_until_it_shuts_down(store: PadStore) -> None:
    pads = pads_over(store, OneServer())
    room, peer = await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    await pads.hand_off()  # a single server keeps its pads open while it drains
    assert peer.outgoing.close_code is None and pads.rooms == {PAD: room}
    with pytest.raises(ShuttingDown):
        await OneServer().claim(PAD, may_take=False)


async def test_a_pad_another_node_took_is_closed_here(store: PadStore) -> None:
    homes = FakeHomes()
    pads = pads_over(store, homes)
    _, peer = await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    (lost,) = homes.lost
    lost(PAD)
    assert peer.outgoing.close_code == CloseCode.SERVICE_RESTART and pads.rooms == {}


def appended(doc: Doc[Any], text: str) -> bytes:
    before = doc.get_state()
    body = doc.get("files", type=Map)["main.py"]
    body += text
    return create_update_message(doc.get_update(before))


async def test_two_rooms_of_one_pad_cannot_fork_its_history(store: PadStore) -> None:
    """A takeover racing the old home's last edit: both rooms loaded the same history; the first to store the next
    update wins, the other room closes its sockets (1012) and stores nothing more; reloaded, it has both edits."""
    pad = await store.get(PAD)
    assert pad is not None
    old, new = await load(store, pad, PadLimits()), await load(store, pad, PadLimits())
    writer_old, writer_new = old.join(PadRole.EDIT, "a"), new.join(PadRole.EDIT, "b")
    doc: Doc[Any] = Doc()
    doc.apply_update(new.doc.get_update())
    await new.receive(writer_new, appended(doc, " new"))
    other: Doc[Any] = Doc()
    other.apply_update(old.doc.get_update())
    await old.receive(writer_old, appended(other, " old"))
    assert old.stale and writer_old.outgoing.close_code == CloseCode.SERVICE_RESTART
    await old.receive(writer_old, appended(other, " again"))  # a stale room never writes again
    stored = await store.updates(PAD)
    assert [u.seq for u in stored] == [0, 1] and stored[1].author.name == "b"

    homes = FakeHomes()
    pads = pads_over(store, homes)
    pads.rooms[PAD] = old  # a stale room here is reloaded by the next participant
    room, _ = await pads.join(PAD, KEYS[PadRole.EDIT], "c")
    assert room is not old and str(room.doc.get("files", type=Map)["main.py"]) == "x new"


def test_a_leaving_node_hands_each_pad_to_the_same_node_and_spreads_them() -> None:
    nodes = ["n1", "n2", "n3", "n4"]
    picks = [successor(f"pad{i}", nodes) for i in range(400)]
    assert picks == [successor(f"pad{i}", list(reversed(nodes))) for i in range(400)], "order does not matter"
    counts = Counter(picks)
    assert set(counts) == set(nodes) and min(counts.values()) > 60, counts
    # Only the pads of a node that goes away move: the others keep their successor.
    without = [successor(f"pad{i}", ["n1", "n2", "n3"]) for i in range(400)]
    assert all(a == b for a, b in zip(picks, without, strict=True) if a != "n4")


async def test_a_room_that_cannot_load_keeps_no_claim(store: PadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    homes = FakeHomes()
    pads = pads_over(store, homes)

    async def database_gone(pad_id: str) -> None:
        raise ConnectionRefusedError("the database does not answer")

    monkeypatch.setattr(store, "updates", database_gone)  # the pad is found, its history cannot be read
    with pytest.raises(ConnectionRefusedError):
        await pads.join(PAD, KEYS[PadRole.EDIT], "ada")
    assert homes.claims == [(PAD, True)] and homes.held == set() and pads.rooms == {}
