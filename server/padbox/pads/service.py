"""Pads as a whole: creating them, opening and unloading their rooms, the owner's acts, runs, history,
retention. Every transport (web/pads.py's endpoints and sockets) asks here, and every key is checked here,
once: an unknown pad and a wrong key raise the same `not_found`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from padbox.core.door import Credentials, Door
from padbox.core.protocol import CloseCode, SourceFile
from padbox.core.runner import Runner
from padbox.pads import model, pad_runs, rooms
from padbox.pads.homes import MOVED, OneServer, PadHomes
from padbox.pads.messages import (
    AuthorInfo,
    Export,
    History,
    NewPad,
    PadEnded,
    PadInfo,
    PadRunFinished,
    PadRunStarted,
    PadState,
    RunEntry,
    RunError,
    RunPad,
    SettingEntry,
    UpdateEntry,
    encode,
)
from padbox.pads.model import PadLimits, PadRole
from padbox.pads.rooms import Listener, Peer, Room
from padbox.pads.store import Author, PadRecord, PadStore, RunRecord, SettingRecord, UpdateRecord

log = logging.getLogger("padbox.pads")

PURGE_EVERY_S = 3600.0
DAY_S = 86400.0
DEFAULT_LANGUAGE = "python"


@dataclass(frozen=True)
class PadSettings:
    limits: PadLimits
    retention_days: float
    run_output_bytes: int


@dataclass(frozen=True)
class NewPadKeys:
    """A created pad: its id and the key of each role (given out once; only digests are stored)."""

    id: str
    keys: dict[PadRole, str]


class Pads:
    """The pads of this server: the store, the open rooms, the runner for their runs (its `start` only), the
    node's door (draining, languages), and where each pad's room lives (`homes`: always here on a single server;
    in a cluster, here or on the node that holds its claim)."""

    def __init__(
        self, store: PadStore, runner: Runner, door: Door, settings: PadSettings, homes: PadHomes | None = None
    ) -> None:
        self.store = store
        self.runner = runner
        self.door = door
        self.settings = settings
        self.homes: PadHomes = homes if homes is not None else OneServer()
        self.homes.on_lost(self._lost)
        self.rooms: dict[str, Room] = {}
        self.leaving = False  # handed off (a cluster node draining): pads go to the nodes that stay
        self._opening = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._purger: asyncio.Task[None] | None = None

    # --- the server's life --------------------------------------------------------------------------
    async def start_up(self) -> None:
        """Stale pads purged (the store is open), and the hourly purge started."""
        await self.purge()
        self._purger = asyncio.get_running_loop().create_task(self._purge_periodically(), name="pad-purge")

    @property
    def closed_to_new(self) -> bool:
        """No pad can be opened: a single server that is draining. A cluster node sends pads elsewhere instead."""
        return self.door.draining and not self.homes.shared

    async def hand_off(self) -> None:
        """A cluster node starting to drain: every room here is closed with 1012, so the pads' providers reconnect
        and reach a node that stays, and every claim is released so that node can take the pad at once. Edits are
        stored already; a pad's run going on here finishes within the drain time and is recorded as usual."""
        if not self.homes.shared:
            return
        async with self._opening:
            self.leaving = True
            handed = list(self.rooms.values())
            self.rooms.clear()
            for room in handed:
                room.close_all(CloseCode.SERVICE_RESTART, "this server is restarting: reconnecting")
            await self.homes.release(room.id for room in handed)
        if handed:
            log.info("handed %d pad(s) off to the nodes that stay", len(handed))

    def _lost(self, pad_id: str) -> None:
        """Another node holds this pad now (this node was cut off from the claims): its room here closes."""
        room = self.rooms.pop(pad_id, None)
        if room is not None:
            room.close_all(CloseCode.SERVICE_RESTART, MOVED)

    async def shut_down(self) -> None:
        """Every pad socket is told and closed (their edits are already stored); runs' records are finished."""
        for room in list(self.rooms.values()):
            room.close_all(CloseCode.GOING_AWAY, "the server is shutting down")
            if room.run is not None:
                await room.run.stop()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=pad_runs.STOP_WAIT_S)

    async def close(self) -> None:
        """The hourly purge stopped (the Node closes the store after)."""
        if self._purger is not None:
            self._purger.cancel()
            with suppress(asyncio.CancelledError):
                await self._purger

    async def _purge_periodically(self) -> None:
        while True:
            await asyncio.sleep(PURGE_EVERY_S)
            try:
                await self.purge()
            except Exception:  # a database hiccup: try again next time
                log.exception("purging old pads failed")

    async def purge(self, now: float | None = None) -> list[str]:
        """Delete pads idle for longer than PADBOX_PAD_RETENTION_DAYS, with their history (open ones stay)."""
        cutoff = (time.time() if now is None else now) - self.settings.retention_days * DAY_S
        purged = await self.store.purge(cutoff, keep=frozenset(self.rooms))
        if purged:
            log.info("purged %d pad(s) idle for more than %g days", len(purged), self.settings.retention_days)
        return purged

    # --- creating and finding pads ------------------------------------------------------------------
    async def create(self, request: NewPad) -> NewPadKeys:
        """A new pad: its document laid out and stored as its first update, a key for each role."""
        language = self.door.catalogue.resolve(request.language or DEFAULT_LANGUAGE)
        content = model.initial_content(
            language.id, request.title, request.files, request.entry, language.file, language.template
        )
        doc: Doc[Any] = Doc()
        model.write_content(doc, content)
        model.check_limits(doc, self.settings.limits)
        keys = {role: model.new_key() for role in PadRole}
        now = time.time()
        pad = PadRecord(
            id=model.new_pad_id(),
            title=content.title,
            language=content.language,
            created_at=now,
            active_at=now,
            ended_at=None,
            keys={role: model.key_digest(key) for role, key in keys.items()},
        )
        first = UpdateRecord(0, now, Author("server", PadRole.OWNER), doc.get_update())
        await self.store.create(pad, first)
        return NewPadKeys(pad.id, keys)

    async def enter(self, pad_id: str, key: str) -> tuple[PadRecord, PadRole]:
        """The pad and the role the key grants; not_found alike for an unknown pad and a wrong key."""
        room = self.rooms.get(pad_id)
        pad = room.pad if room is not None else await self.store.get(pad_id[:64])
        role = model.role_of(key, pad.keys if pad else _NO_KEYS)
        if pad is None or role is None:
            raise model.not_found()
        return pad, role

    async def _room(self, pad: PadRecord) -> Room:
        """The pad's room here, loaded if need be once this node holds the pad; Elsewhere when another node
        does (the transport relays to it). A stale room (another node wrote the pad meanwhile) is reloaded."""
        async with self._opening:
            room = self.rooms.get(pad.id)
            if room is None or room.stale:
                self.rooms.pop(pad.id, None)  # a stale room's sockets are closing already
                await self.homes.claim(pad.id, may_take=not self.leaving)
                try:
                    room = await rooms.load(self.store, pad, self.settings.limits)
                except BaseException:  # the database failed or the caller left: no room, so no claim held
                    await self.homes.release([pad.id])
                    raise
                self.rooms[pad.id] = room
            return room

    @asynccontextmanager
    async def using(self, pad: PadRecord) -> AsyncIterator[Room]:
        """The pad's room, held open for the block (loaded if need be, unloaded after if nobody is in it)."""
        room = await self._room(pad)
        room.busy += 1
        try:
            yield room
        finally:
            room.busy -= 1
            self._unload_if_idle(room)

    def _unload_if_idle(self, room: Room) -> None:
        if room.idle and self.rooms.get(room.id) is room:
            del self.rooms[room.id]
            if self.homes.shared:  # the claim goes with the room: the next participant's node may take the pad
                self._spawn(self._release(room.id), f"pad-release-{room.id}")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Background work the shutdown waits for (a run's record, a claim's release)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, pad_id: str) -> None:
        async with self._opening:  # after any opening under way: a room opened again here keeps its claim
            if pad_id not in self.rooms:
                await self.homes.release([pad_id])

    @asynccontextmanager
    async def holding(self, pad_id: str, key: str) -> AsyncIterator[None]:
        """The pad's room held here for a whole HTTP call (a cluster node that is not the pad's home raises
        Elsewhere first, and the call is forwarded to the home); not_found for an unknown pad or a wrong key."""
        pad, _ = await self.enter(pad_id, key)
        async with self.using(pad):
            yield

    # --- sockets ------------------------------------------------------------------------------------
    async def join(self, pad_id: str, key: str, name: str | None) -> tuple[Room, Peer]:
        """A Yjs socket's place in its pad's room."""
        pad, role = await self.enter(pad_id, key)
        async with self.using(pad) as room:
            return room, room.join(role, model.display_name(name, role))

    def leave(self, room: Room, peer: Peer) -> None:
        room.leave(peer)
        self._unload_if_idle(room)

    async def listen(self, pad_id: str, key: str, name: str | None) -> tuple[Room, Listener]:
        """An events socket's place in its pad's room; its first message is the pad as it stands."""
        pad, role = await self.enter(pad_id, key)
        async with self.using(pad) as room:
            listener = room.listen(role, model.display_name(name, role))
            content = model.read_content(room.doc)
            run = room.run.info(role) if room.run is not None else None
            state = PadState(pad.id, role, content.title, content.language, room.ended, run)
            rooms.send(listener.outgoing, encode(state))
            return room, listener

    def unlisten(self, room: Room, listener: Listener) -> None:
        room.unlisten(listener)
        self._unload_if_idle(room)

    # --- HTTP ---------------------------------------------------------------------------------------
    async def info(self, pad_id: str, key: str) -> PadInfo:
        pad, role = await self.enter(pad_id, key)
        async with self.using(pad) as room:
            return _info(room, role)

    async def run(self, pad_id: str, key: str, request: RunPad, credentials: Credentials) -> str:
        """Run the document as it stands; a run already going in the pad is stopped first. Returns its id."""
        pad, role = await self.enter(pad_id, key)
        if not role.can_edit:
            raise model.forbidden("a view link cannot run the pad: ask the owner for an edit link")
        async with self.using(pad) as room:
            if room.ended:
                raise model.pad_ended()
            async with room.run_lock:
                if room.run is not None:
                    await room.run.stop()
                run_request = model.run_request(model.read_content(room.doc))
                author = Author(model.display_name(request.name, role), role)
                run = await pad_runs.start(
                    self.runner, run_request, credentials, author, self.settings.run_output_bytes
                )
                room.run = run
                room.busy += 1  # until the run is recorded
                self._spawn(self._record(room, run), f"pad-run-{run.run_id}")
                start = run.start
                room.announce(lambda role: PadRunStarted(start.run_id, run.key_for(role), start.author.name, start.at))
                return run.run_id

    async def _record(self, room: Room, run: pad_runs.PadRun) -> None:
        """Follow a pad's run to its end, and keep it in the history."""
        try:
            try:
                await self.store.run_started(room.id, run.start)
            finally:
                end = await run.follow()
            await self.store.run_finished(room.id, run.run_id, end)
            room.announce(lambda role: PadRunFinished(run.run_id, end.verdict, end.finished_at))
        except Exception:
            log.exception("pad %s: recording run %s failed", room.id, run.run_id)
        finally:
            run.finished.set()
            if room.run is run:
                room.run = None
            room.busy -= 1
            self._unload_if_idle(room)

    async def end(self, pad_id: str, key: str) -> float:
        """The owner ends the pad: read-only for everyone from now on; its run is stopped."""
        pad, role = await self.enter(pad_id, key)
        _owner_only(role)
        async with self.using(pad) as room:
            if room.pad.ended_at is not None:
                return room.pad.ended_at
            at = time.time()
            await self.store.end(pad.id, at)
            room.end(at)
            room.announce(lambda role: PadEnded(at))
            if room.run is not None:
                await room.run.stop()
            return at

    async def new_key(self, pad_id: str, key: str, role: PadRole) -> str:
        """The owner replaces a role's key: the old one stops working at once, its sockets are closed."""
        pad, holder = await self.enter(pad_id, key)
        _owner_only(holder)
        fresh = model.new_key()
        digest = model.key_digest(fresh)
        await self.store.set_key(pad.id, role, digest)
        room = self.rooms.get(pad.id)
        if room is not None:
            room.revoke(role, digest)
        return fresh

    async def notes(self, pad_id: str, key: str) -> str:
        pad, role = await self.enter(pad_id, key)
        _owner_only(role)
        return await self.store.notes(pad.id)

    async def set_notes(self, pad_id: str, key: str, notes: str) -> None:
        pad, role = await self.enter(pad_id, key)
        _owner_only(role)
        await self.store.set_notes(pad.id, notes, time.time())

    async def setting(self, pad_id: str, key: str, name: str, default: Any) -> Any:
        """An owner's setting of the pad, as any role may read it."""
        pad, _ = await self.enter(pad_id, key)
        return await self.store.setting(pad.id, name, default)

    async def set_setting(self, pad_id: str, key: str, name: str, value: Any, who: str | None) -> None:
        """The owner changes a setting; recorded in the pad's history with its time and author."""
        pad, role = await self.enter(pad_id, key)
        _owner_only(role)
        await self.store.set_setting(
            pad.id, SettingRecord(time.time(), Author(model.display_name(who, role), role), name, value)
        )

    async def history(self, pad_id: str, key: str) -> History:
        pad, role = await self.enter(pad_id, key)
        _owner_only(role)
        async with self.using(pad) as room:
            info = _info(room, role)
        updates = tuple(_update_entry(u) for u in await self.store.updates(pad.id))
        runs = tuple(_run_entry(r) for r in await self.store.runs(pad.id))
        settings = tuple(_setting_entry(r) for r in await self.store.settings(pad.id))
        return History(info, updates, runs, settings)

    async def export(self, pad_id: str, key: str) -> Export:
        history = await self.history(pad_id, key)
        pad, _ = await self.enter(pad_id, key)
        async with self.using(pad) as room:
            state = room.doc.get_update()
        return Export(history.pad, history.updates, history.runs, base64.b64encode(state).decode())


_NO_KEYS = {role: model.key_digest(model.new_key()) for role in PadRole}  # compared when the pad is unknown


def _owner_only(role: PadRole) -> None:
    if not role.is_owner:
        raise model.forbidden("only the pad's owner may do this")


def _info(room: Room, role: PadRole) -> PadInfo:
    content = model.read_content(room.doc)
    pad = room.pad
    return PadInfo(
        id=pad.id,
        role=role,
        title=content.title,
        language=content.language,
        entry=content.entry,
        ended=room.ended,
        created_at=pad.created_at,
        ended_at=pad.ended_at,
    )


def _update_entry(update: UpdateRecord) -> UpdateEntry:
    author = AuthorInfo(update.author.name, update.author.role)
    return UpdateEntry(update.seq, update.at, author, base64.b64encode(update.data).decode())


def _setting_entry(record: SettingRecord) -> SettingEntry:
    return SettingEntry(record.at, AuthorInfo(record.author.name, record.author.role), record.name, record.value)


def _run_entry(run: RunRecord) -> RunEntry:
    start, end = run.start, run.end
    files = tuple(SourceFile(f["name"], f["content"]) for f in start.files)
    error = RunError(end.error["code"], end.error["message"]) if end and end.error else None
    return RunEntry(
        run_id=start.run_id,
        at=start.at,
        finished_at=end.finished_at if end else None,
        author=AuthorInfo(start.author.name, start.author.role),
        language=start.language,
        files=files,
        output=end.output if end else "",
        truncated=end.truncated if end else False,
        verdict=end.verdict if end else None,
        exit_code=end.exit_code if end else None,
        signal=end.signal if end else None,
        usage=dict(end.usage) if end and end.usage else None,
        error=error,
    )
