"""One room per open pad: its pycrdt document, its Yjs sockets (peers), its events sockets (listeners), and
the y-websocket sync and awareness messages between them.

A thin layer over pycrdt's own sync helpers rather than pycrdt-websocket's YRoom, for two reasons the
library cannot serve: YRoom applies and relays an update first and hands it to its store afterwards (in a
task), where a pad must have an update committed before anyone else sees it (an edit a participant has seen
survives a SIGKILL of the server); and YRoom has no notion of a participant's role or of limits, where a pad
refuses a viewer's edit and an edit past the document size before it touches the document. The messages
themselves stay the standard ones (pycrdt builds and reads them), so any Yjs client can connect.

Nothing here knows Starlette: a socket is an `Outgoing` queue (core.outbox.Outbox) that web/pads.py drains, and a peer's
messages arrive through `Room.receive`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pycrdt import (
    Awareness,
    Doc,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    read_message,
    write_message,
)

from padbox.core.outbox import Outbox
from padbox.core.protocol import CloseCode, PadCloseCode
from padbox.pads import model
from padbox.pads.homes import MOVED
from padbox.pads.messages import PadClosed, PadEvent, encode
from padbox.pads.model import PadError, PadLimits, PadRole, RateBudget
from padbox.pads.pad_runs import PadRun
from padbox.pads.store import Author, PadRecord, PadStore, SeqTaken, UpdateRecord

log = logging.getLogger("padbox.pads")

OUTGOING_LIMIT = 8 << 20  # bytes waiting for one socket; past it the socket is closed (it resyncs on reconnect)
QUERY_AWARENESS = 3  # y-websocket's messageQueryAwareness
AUTH = 2  # y-websocket's messageAuth (server -> client only)
EMPTY_UPDATE = b"\x00\x00"

Message = bytes | str
Outgoing = Outbox[Message]


def outgoing() -> Outgoing:
    return Outgoing(OUTGOING_LIMIT)


def send(out: Outgoing, message: Message) -> None:
    """Queue for a socket without waiting. A socket too far behind is closed: a Yjs client then reconnects
    and syncs."""
    if not out.offer(message):
        out.abort(CloseCode.TRY_AGAIN_LATER, "too far behind: reconnect")


@dataclass(eq=False)
class Peer:
    """A Yjs socket in a room."""

    role: PadRole
    name: str
    rate: RateBudget
    outgoing: Outgoing = field(default_factory=outgoing)
    awareness_ids: set[int] = field(default_factory=set)
    refused: int = 0  # edits refused (a viewer's, or after the pad ended): counted, never applied

    @property
    def author(self) -> Author:
        return Author(self.name, self.role)


@dataclass(eq=False)
class Listener:
    """An events socket in a room (JSON messages: runs starting and finishing, the pad ending)."""

    role: PadRole
    name: str
    outgoing: Outgoing = field(default_factory=outgoing)


EventFor = Callable[[PadRole], PadEvent]


class Attendee(Protocol):
    """Another socket of the pad (language help's): it closes with the pad's own sockets, and when its role's key
    is replaced."""

    role: PadRole
    outgoing: Outgoing


class Room:
    """One open pad. Edits are handled one at a time (`_edits`), so the stored order is the applied order."""

    def __init__(self, pad: PadRecord, doc: Doc[Any], next_seq: int, store: PadStore, limits: PadLimits) -> None:
        self.pad = pad
        self.doc = doc
        self.next_seq = next_seq
        self.store = store
        self.limits = limits
        self.ended = pad.ended_at is not None
        self.stale = False  # another room (on another node) stored this pad's next update: this one is closed
        self.peers: list[Peer] = []
        self.listeners: list[Listener] = []
        self.attendees: list[Attendee] = []
        # Called after every committed edit (language help follows the document): plain callbacks that must
        # not block, so nothing that watches the pad can slow an edit down.
        self.watchers: list[Callable[[], None]] = []
        self.busy = 0  # work holding the room open besides sockets (a run being recorded, an HTTP call)
        self._edits = asyncio.Lock()
        self.run: PadRun | None = None  # the pad's run going on, if any
        self.run_lock = asyncio.Lock()  # one Run at a time: pressing Run again stops the last one first
        self.awareness = Awareness(doc)
        self.awareness.set_local_state(None)  # the server has no cursor of its own
        self.awareness.observe(self._awareness_changed)
        self._described = (pad.title, pad.language)

    @property
    def id(self) -> str:
        return self.pad.id

    @property
    def idle(self) -> bool:
        return not self.peers and not self.listeners and self.busy == 0

    # --- Yjs sockets --------------------------------------------------------------------------------
    def join(self, role: PadRole, name: str) -> Peer:
        """A new Yjs socket: it is sent the server's state vector (sync step 1) and everyone's awareness."""
        if len(self.peers) >= self.limits.max_participants:
            raise model.too_fast(f"this pad already has {self.limits.max_participants} participants")
        peer = Peer(role, name, RateBudget(self.limits.messages_per_s))
        self.peers.append(peer)
        send(peer.outgoing, create_sync_message(self.doc))
        if self.awareness.states:
            update = self.awareness.encode_awareness_update(list(self.awareness.states))
            send(peer.outgoing, create_awareness_message(update))
        return peer

    def leave(self, peer: Peer) -> None:
        """A socket went: its cursors are removed for everyone."""
        if peer not in self.peers:
            return
        self.peers.remove(peer)
        gone = [client for client in peer.awareness_ids if client in self.awareness.states]
        if gone:
            self.awareness.remove_awareness_states(gone, origin=peer)
            message = create_awareness_message(self.awareness.encode_awareness_update(gone))
            self._relay(message, skip=peer)

    async def receive(self, peer: Peer, message: bytes) -> None:
        """One y-websocket message from a peer. Raises PadError (malformed, too fast, too large): the
        transport then closes that socket, and nothing of the message reached the document or anyone."""
        if not peer.rate.take(time.monotonic()):
            raise model.too_fast(f"more than {self.limits.messages_per_s:g} messages a second: slow down")
        if not message:
            raise model.malformed()
        kind = message[0]
        try:
            if kind == YMessageType.SYNC and len(message) >= 2:
                payload = read_message(message[2:])
                if message[1] == YSyncMessageType.SYNC_STEP1:
                    send(peer.outgoing, sync_step2(self.doc.get_update(payload)))
                    return
                if message[1] not in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
                    raise model.malformed()
            elif kind == YMessageType.AWARENESS:
                update = read_message(message[1:])
                self.awareness.apply_awareness_update(update, origin=peer)
                self._relay(message, skip=peer)
                return
            elif kind == QUERY_AWARENESS:
                states = list(self.awareness.states)
                send(peer.outgoing, create_awareness_message(self.awareness.encode_awareness_update(states)))
                return
            else:
                raise model.malformed()
        except PadError:
            raise
        except Exception:  # pycrdt's decoders raise ValueError, IndexError, JSON errors: all one answer
            raise model.malformed() from None
        await self._edit(peer, payload)

    async def _edit(self, peer: Peer, update: bytes) -> None:
        """Try the update on a scratch copy (limits, decoding), store it, then apply and relay it."""
        if update == EMPTY_UPDATE:
            return
        if not peer.role.can_edit or self.ended:
            # Refused: not applied, not stored, not relayed. The socket stays (a viewer keeps watching).
            peer.refused += 1
            log.debug("pad %s: refused an edit from a %s (ended: %s)", self.id, peer.role.value, self.ended)
            return
        async with self._edits:
            if self.stale:
                return  # its sockets are closing; the edit reaches the pad's new room when its client reconnects
            current = self.doc.get_update()
            try:
                trial = model.with_update(current, update)
            except ValueError:
                raise model.malformed("malformed Yjs update") from None
            model.check_limits(trial, self.limits)
            if trial.get_update() == current:
                return  # nothing new (a reconnecting client's sync step 2): nothing to store or relay
            record = UpdateRecord(self.next_seq, time.time(), peer.author, update)
            # Stored before anyone sees it: an update relayed is one the server has committed.
            try:
                await self.store.append_update(self.id, record)
            except SeqTaken:
                # Another node's room wrote the pad meanwhile: this room is behind and must not write again.
                # Everyone here reconnects (1012) and resyncs with the pad's current room; this edit, never
                # acknowledged, is sent again by its client's sync then.
                log.warning("pad %s: another room stored update %d first; closing this room", self.id, record.seq)
                self.stale = True
                self.close_all(CloseCode.SERVICE_RESTART, MOVED)
                return
            self.next_seq += 1
            self.doc.apply_update(update)
            self._relay(create_update_message(update), skip=peer)
            for watcher in list(self.watchers):
                try:
                    watcher()
                except Exception:  # a watcher's fault never fails an edit that is committed and relayed
                    log.exception("pad %s: a watcher failed", self.id)
            await self._describe()

    async def _describe(self) -> None:
        """Keep the pad's listing columns (title, language) as the document's meta says."""
        content = model.read_content(self.doc)
        described = (content.title, content.language)
        if described != self._described:
            self._described = described
            await self.store.describe(self.id, *described)

    def _relay(self, message: bytes, skip: Peer | None = None) -> None:
        for peer in self.peers:
            if peer is not skip:
                send(peer.outgoing, message)

    def _awareness_changed(self, topic: str, change: tuple[dict[str, Any], Any]) -> None:
        changes, origin = change
        if topic == "update" and isinstance(origin, Peer):
            origin.awareness_ids.update(changes["added"])
            origin.awareness_ids.update(changes["updated"])
            origin.awareness_ids.difference_update(changes["removed"])

    # --- events sockets -----------------------------------------------------------------------------
    def listen(self, role: PadRole, name: str) -> Listener:
        listener = Listener(role, name)
        self.listeners.append(listener)
        return listener

    def unlisten(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def announce(self, event_for: EventFor) -> None:
        """An event to every events socket, made for each one's role (run keys differ by role)."""
        for listener in self.listeners:
            send(listener.outgoing, encode(event_for(listener.role)))

    # --- the owner's acts ---------------------------------------------------------------------------
    def end(self, at: float) -> None:
        """From now on every edit is refused, for every role."""
        self.ended = True
        self.pad = replace(self.pad, ended_at=at)

    def revoke(self, role: PadRole, digest: str) -> None:
        """A role's key was replaced: its sockets close as if the pad were unknown (the old key is nothing now)."""
        self.pad = replace(self.pad, keys={**self.pad.keys, role: digest})
        for peer in self.peers:
            if peer.role is role:
                peer.outgoing.close(PadCloseCode.NOT_FOUND, model.NO_SUCH_PAD)
        for listener in self.listeners:
            if listener.role is role:
                send(listener.outgoing, encode(PadClosed("this link was replaced by the owner")))
                listener.outgoing.close(PadCloseCode.NOT_FOUND, model.NO_SUCH_PAD)
        for attendee in self.attendees:
            if attendee.role is role:
                attendee.outgoing.close(PadCloseCode.NOT_FOUND, model.NO_SUCH_PAD)

    def close_all(self, code: int, reason: str) -> None:
        for peer in self.peers:
            peer.outgoing.close(code, reason)
        for listener in self.listeners:
            send(listener.outgoing, encode(PadClosed(reason)))
            listener.outgoing.close(code, reason)
        for attendee in self.attendees:
            attendee.outgoing.close(code, reason)


def sync_step2(update: bytes) -> bytes:
    """y-websocket's sync step 2: what the other side is missing."""
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)


async def load(store: PadStore, pad: PadRecord, limits: PadLimits) -> Room:
    """A room for a stored pad: its document rebuilt from every stored update, in order."""
    doc: Doc[Any] = Doc()
    stored = await store.updates(pad.id)
    for update in stored:
        doc.apply_update(update.data)
    next_seq = stored[-1].seq + 1 if stored else 0
    return Room(pad, doc, next_seq, store, limits)
