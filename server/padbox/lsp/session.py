"""One pad's language help: its participants (language-help sockets), its state, its diagnostics, and the
supervisor of its language server.

The pad's room tells the session that an edit was committed (a plain callback, after the edit is stored and
relayed); the session then brings the server's copy up to date in a callback of its own, queueing notifications
for the server's writer. Nothing on the edit path ever waits for the language server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from padbox.lsp import protocol
from padbox.lsp.channel import Launcher, LaunchFailed
from padbox.lsp.connection import Connection, ServerError
from padbox.lsp.documents import Workspace, name_of, uri_of
from padbox.lsp.languages import LanguageServer, server_for
from padbox.lsp.protocol import Incoming, State
from padbox.pads import model, rooms
from padbox.pads.model import PadRole
from padbox.pads.rooms import Outgoing, Room

log = logging.getLogger("padbox.lsp")

HASH_WAIT_S = 0.5  # how long a request waits for the pad's document to reach the page's text (the contract)
MAX_FAILURES = 5  # failures in a row (each after less than HEALTHY_S of service) before `unavailable`
HEALTHY_S = 60.0
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
GIVE_UP_S = 60.0  # a server that kept failing is not tried again before this, whoever asks
MAX_REQUESTS_PER_SOCKET = 16  # requests of one socket in flight; more are answered empty at once


@dataclass(eq=False)
class Participant:
    """A language-help socket."""

    role: PadRole
    outgoing: Outgoing = field(default_factory=rooms.outgoing)
    in_flight: int = 0

    def send(self, message: dict[str, Any]) -> None:
        rooms.send(self.outgoing, json.dumps(message, ensure_ascii=False, separators=(",", ":")))


@dataclass(frozen=True)
class HelpSettings:
    idle_s: float
    deadline_s: float


class Slots:
    """PADBOX_LSP_MAX: the language servers this node runs at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held: set[object] = set()

    def take(self, holder: object) -> bool:
        if holder in self.held:
            return True
        if len(self.held) >= self.limit:
            return False
        self.held.add(holder)
        return True

    def give_back(self, holder: object) -> None:
        self.held.discard(holder)


class PadHelp:
    def __init__(
        self,
        pad_id: str,
        enabled: bool,
        launcher: Launcher | None,
        slots: Slots,
        settings: HelpSettings,
        language_name: Callable[[str], str],
    ) -> None:
        self.pad_id = pad_id
        self.enabled = enabled
        self.launcher = launcher
        self.slots = slots
        self.settings = settings
        self.language_name = language_name
        self.participants: list[Participant] = []
        self.room: Room | None = None
        self.language = ""
        self.state = State.IDLE
        self.message = ""
        self.diagnostics: dict[str, dict[str, Any]] = {}  # uri -> the last publishDiagnostics params
        self.connection: Connection | None = None
        self.workspace: Workspace | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._edited = asyncio.Event()  # set and replaced at every committed edit: hash waiters wake
        self._flush_queued = False
        self._ready = asyncio.Event()
        self._requests: set[asyncio.Task[None]] = set()
        self._slot: object | None = None  # this session's hold on one of PADBOX_LSP_MAX, while a server is wanted
        self._retry_after = 0.0  # monotonic time before which a failing server is not started again
        self._hashes: dict[str, tuple[str, str]] = {}  # file -> (text, its hash): one hash per text, not per request

    # --- participants and the room ------------------------------------------------------------------
    def attach(self, room: Room) -> None:
        """Follow this room's edits (a pad's room may be unloaded and loaded again between participants)."""
        if self.room is room:
            return
        self.detach()
        self.room = room
        room.watchers.append(self._on_edit)
        self._follow_language()
        self._flush()

    def detach(self) -> None:
        if self.room is not None and self._on_edit in self.room.watchers:
            self.room.watchers.remove(self._on_edit)
        self.room = None

    def join(self, participant: Participant) -> None:
        self.participants.append(participant)

    def leave(self, participant: Participant) -> None:
        if participant in self.participants:
            self.participants.remove(participant)
        if not self.participants:
            self.detach()

    def _broadcast(self, message: dict[str, Any]) -> None:
        for participant in self.participants:
            participant.send(message)

    def _set_state(self, state: State, message: str = "") -> None:
        if (state, message) == (self.state, self.message):
            return
        self.state, self.message = state, message
        log.info("pad %s language help (%s): %s %s", self.pad_id, self.language, state.value, message)
        self._broadcast(protocol.state_message(state, self.language, message))

    # --- edits ----------------------------------------------------------------------------------------
    def _on_edit(self) -> None:
        """Called by the room after an edit is committed: wake hash waiters, and flush soon (coalesced)."""
        self._edited.set()
        self._edited = asyncio.Event()
        if not self._flush_queued:
            self._flush_queued = True
            asyncio.get_running_loop().call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_queued = False
        self._follow_language()
        self._flush()

    def _files(self) -> dict[str, str]:
        if self.room is None:
            return {}
        return {f.name: f.content for f in model.read_content(self.room.doc).files}

    def _flush(self) -> None:
        """The server's copy brought to the document's files (queued, in order)."""
        if self.connection is None or self.workspace is None or self.room is None or not self._ready.is_set():
            return
        for command in self.workspace.sync(self._files()):
            self.connection.queue(command)

    def _follow_language(self) -> None:
        """`meta.language` changed: the old server goes, its diagnostics are cleared for everyone."""
        if self.room is None:
            return
        language = model.read_content(self.room.doc).language
        if language == self.language:
            return
        first = not self.language
        was_running = self._supervisor is not None
        self.language = language
        if not first:
            self._stop_server()
            self._clear_diagnostics()
        self._retry_after = 0.0  # another server: its predecessor's failures say nothing of it
        self._settle_state()
        if was_running and self.state is State.IDLE:
            self.ensure_started()

    def _settle_state(self) -> None:
        """The state when no server runs: off, unsupported or idle."""
        if not self.enabled:
            self._set_state(State.OFF, "language help is off for this pad")
        elif self._server() is None:
            self._set_state(State.UNSUPPORTED, f"no language help for {self.language_name(self.language)}")
        elif self._supervisor is None:
            self._set_state(State.IDLE)

    def _server(self) -> LanguageServer | None:
        return server_for(self.language)

    def _clear_diagnostics(self) -> None:
        uris = set(self.diagnostics) | {uri_of(name) for name in self._files()}
        self.diagnostics.clear()
        for uri in sorted(uris):
            self._broadcast(protocol.diagnostics_message(uri, []))

    # --- the owner's switch ---------------------------------------------------------------------------
    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if not enabled:
            self._stop_server()
            self._clear_diagnostics()
        self._settle_state()

    # --- the server's life ----------------------------------------------------------------------------
    def ensure_started(self) -> bool:
        """Start the server if it is wanted and not running; False when no server can run (the state says why)."""
        if self._supervisor is not None:
            return True
        if not self.enabled or self._server() is None or self.room is None:
            return False
        if self.launcher is None:
            self._set_state(State.UNAVAILABLE, "language help is unavailable on this server")
            return False
        slot = object()
        if not self.slots.take(slot):
            why = (
                f"{self.slots.limit} language servers already run here"
                if self.slots.limit
                else "this server runs no language servers (PADBOX_LSP_MAX=0)"
            )
            self._set_state(State.UNAVAILABLE, f"language help is unavailable, try later: {why}")
            return False
        self._slot = slot
        self._set_state(State.STARTING)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(slot), name=f"lsp-{self.pad_id}")
        return True

    async def _supervise(self, slot: object) -> None:
        """Run the server; restart it with backoff when it crashes, hangs or runs out of memory."""
        failures = 0
        try:
            while True:
                began = time.monotonic()
                why = await self._serve_once()
                failures = 1 if time.monotonic() - began > HEALTHY_S else failures + 1
                if failures >= MAX_FAILURES:
                    self._retry_after = time.monotonic() + GIVE_UP_S
                    self._set_state(
                        State.UNAVAILABLE, f"language help is unavailable, try later: the language server {why}"
                    )
                    return
                self._set_state(State.RESTARTING, f"the language server stopped ({why}); restarting")
                await asyncio.sleep(BACKOFF_S[min(failures, len(BACKOFF_S)) - 1])
        finally:
            # A stopped supervisor may end after its successor started: it only undoes what is its own.
            self.slots.give_back(slot)
            if self._supervisor is asyncio.current_task():
                self._supervisor = None

    async def _serve_once(self) -> str:
        """One language server from start to end; returns why it ended."""
        server = self._server()
        assert server is not None and self.launcher is not None
        try:
            channel = await self.launcher.launch(self.pad_id, self.language, server.argv)
        except LaunchFailed as exc:
            log.warning("pad %s: %s", self.pad_id, exc)
            return "could not start"
        connection = Connection(channel, self.settings.deadline_s, server.settings, self._from_server)
        self.connection, self.workspace = connection, Workspace(server.language_id)
        try:
            try:
                await connection.initialize()
            except ServerError as exc:
                return f"did not start: {exc}"
            self._ready.set()
            self._flush()
            self._set_state(State.READY)
            why = await connection.ended()
            log.warning("pad %s: language server %s ended: %s", self.pad_id, connection.name, why)
            return why
        finally:
            if self.connection is connection:
                self._ready.clear()
                self.connection = self.workspace = None
            await connection.close()

    def _stop_server(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            self._supervisor = None
        if self._slot is not None:
            self.slots.give_back(self._slot)
            self._slot = None
        if self.connection is not None:
            self.connection.end("stopped")
            self.connection = self.workspace = None
            self._ready.clear()

    async def close(self) -> None:
        """Stop the server and every request; the participants are the transport's to close."""
        supervisor = self._supervisor
        self._stop_server()
        if supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        for task in list(self._requests):
            task.cancel()
        self.detach()

    def _from_server(self, body: dict[str, Any]) -> None:
        """A notification from the server: diagnostics of the pad's files are kept and broadcast."""
        if body.get("method") != protocol.DIAGNOSTICS_METHOD:
            return
        params = body.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("uri"), str):
            return
        if name_of(params["uri"]) is None or not isinstance(params.get("diagnostics"), list):
            return
        self.diagnostics[params["uri"]] = params
        self._broadcast(protocol.notification(protocol.DIAGNOSTICS_METHOD, params))

    # --- a participant's messages ----------------------------------------------------------------------
    def receive(self, participant: Participant, incoming: Incoming) -> None:
        """One message from a socket. Never waits: requests for the server are answered by tasks of their own."""
        method, ident = incoming.method, incoming.id
        if not method:
            return
        if method == "initialize" and incoming.is_request:
            participant.send(protocol.result(ident, protocol.initialize_result()))
            participant.send(protocol.state_message(self.state, self.language, self.message))
            for params in self.diagnostics.values():
                participant.send(protocol.notification(protocol.DIAGNOSTICS_METHOD, params))
            return
        if method == "shutdown" and incoming.is_request:
            participant.send(protocol.result(ident, None))
            return
        if method in protocol.EMPTY_RESULTS and incoming.is_request:
            self._request(participant, incoming)
            return
        if incoming.is_request:
            participant.send(protocol.error(ident, protocol.METHOD_NOT_FOUND, f"method not found: {method}"))

    def _request(self, participant: Participant, incoming: Incoming) -> None:
        ident, method = incoming.id, incoming.method
        forbidden = protocol.refusal_for_role(participant.role, method)
        if forbidden is not None:
            participant.send(protocol.error(ident, forbidden["code"], forbidden["message"]))
            return
        if participant.role.can_edit and self.state in (State.IDLE, State.UNAVAILABLE):
            if time.monotonic() >= self._retry_after:
                self.ensure_started()  # lazily, at an editor's first request; `unavailable` tries again
        refused = protocol.refusal_for_state(self.state, self.language_name(self.language))
        if refused is not None:
            participant.send(protocol.error(ident, *refused))
            return
        empty = protocol.EMPTY_RESULTS[method]
        if participant.in_flight >= MAX_REQUESTS_PER_SOCKET:
            participant.send(protocol.result(ident, empty))
            return
        participant.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._answer(participant, incoming, empty))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _answer(self, participant: Participant, incoming: Incoming, empty: Any) -> None:
        try:
            value = await self._ask(incoming)
        except ServerError as exc:
            log.debug("pad %s: %s unanswered: %s", self.pad_id, incoming.method, exc)
            value = None
        finally:
            participant.in_flight -= 1
        participant.send(protocol.result(incoming.id, empty if value is None else value))

    async def _ask(self, incoming: Incoming) -> Any:
        """The server's answer for the document the page saw, or None (answered empty)."""
        asked = protocol.request_hash(incoming.params)
        if asked is None or not isinstance(incoming.params, dict):
            return None
        uri, wanted = asked
        name = name_of(uri)
        if name is None or not await self._reaches(name, wanted):
            return None
        if not await self._until_ready():
            return None
        self._flush()  # the server's copy is now the document the page hashed, queued before the request
        connection = self.connection
        if connection is None or self.workspace is None:
            return None
        text = self.workspace.texts.get(name)
        if text is None or self._hash(name, text) != wanted:
            return None
        return await connection.request(incoming.method, protocol.for_server(incoming.params))

    async def _reaches(self, name: str, wanted: str) -> bool:
        """Whether the document's file has the page's text now, or within HASH_WAIT_S (an edit in flight)."""
        deadline = asyncio.get_running_loop().time() + HASH_WAIT_S
        while True:
            edited = self._edited
            text = self._files().get(name)
            if text is not None and self._hash(name, text) == wanted:
                return True
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(edited.wait(), left)
            except TimeoutError:
                return False

    def _hash(self, name: str, text: str) -> str:
        """The text's hash, computed once per text of a file: hashing is Python code on the event loop, and a
        page asks several questions of one text."""
        known = self._hashes.get(name)
        if known is not None and known[0] == text:
            return known[1]
        digest = protocol.text_hash(text)
        self._hashes[name] = (text, digest)
        return digest

    async def _until_ready(self) -> bool:
        """Wait for a starting (or restarting) server, within the deadline."""
        if self._ready.is_set():
            return True
        if self._supervisor is None:
            return False
        try:
            await asyncio.wait_for(self._ready.wait(), self.settings.deadline_s)
        except TimeoutError:
            return False
        return True
