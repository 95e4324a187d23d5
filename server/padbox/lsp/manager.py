"""The node's language help: a PadHelp per pad in use, PADBOX_LSP_MAX, idle stops, the owner's switch.

Transports ask here (web/pads_lsp.py); the pad's key and role are checked by the pads (padbox.pads.service), and
a pad whose room is on another node raises Elsewhere from there, so a language-help socket lives where the pad's
document does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from padbox.core.protocol import CloseCode
from padbox.lsp.channel import Launcher
from padbox.lsp.session import HelpSettings, PadHelp, Participant, Slots
from padbox.pads.service import Pads

log = logging.getLogger("padbox.lsp")

SETTING = "language_help"  # the owner's switch, as the pad's history names it


class LanguageHelp:
    def __init__(
        self,
        pads: Pads,
        launcher: Launcher | None,
        limit: int,
        settings: HelpSettings,
        language_name: Callable[[str], str],
    ) -> None:
        self.pads = pads
        self.launcher = launcher
        self.slots = Slots(limit)
        self.settings = settings
        self.language_name = language_name
        self.sessions: dict[str, PadHelp] = {}
        self._idle: dict[str, asyncio.TimerHandle] = {}
        self._opening = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def participate(self, pad_id: str, key: str) -> AsyncIterator[tuple[PadHelp, Participant]]:
        """A language-help socket's place in its pad's help for the block; its pad's room held open meanwhile."""
        pad, role = await self.pads.enter(pad_id, key)
        async with self.pads.using(pad) as room:
            session = await self._session(pad.id)
            participant = Participant(role)
            session.attach(room)
            session.join(participant)
            room.attendees.append(participant)
            try:
                yield session, participant
            finally:
                if participant in room.attendees:
                    room.attendees.remove(participant)
                session.leave(participant)
                if not session.participants:
                    self._idle_later(session)

    async def _session(self, pad_id: str) -> PadHelp:
        timer = self._idle.pop(pad_id, None)
        if timer is not None:
            timer.cancel()
        async with self._opening:
            session = self.sessions.get(pad_id)
            if session is None:
                enabled = bool(await self.pads.store.setting(pad_id, SETTING, True))
                session = PadHelp(pad_id, enabled, self.launcher, self.slots, self.settings, self.language_name)
                self.sessions[pad_id] = session
            return session

    def _idle_later(self, session: PadHelp) -> None:
        """PADBOX_LSP_IDLE_S after its last socket closed, the pad's language server stops."""
        loop = asyncio.get_running_loop()
        self._idle[session.pad_id] = loop.call_later(self.settings.idle_s, self._expire, session)

    def _expire(self, session: PadHelp) -> None:
        self._idle.pop(session.pad_id, None)
        if session.participants or self.sessions.get(session.pad_id) is not session:
            return
        del self.sessions[session.pad_id]
        task = asyncio.get_running_loop().create_task(session.close(), name=f"lsp-idle-{session.pad_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the owner's switch -----------------------------------------------------------------------------
    async def enabled(self, pad_id: str, key: str) -> bool:
        return bool(await self.pads.setting(pad_id, key, SETTING, True))

    async def set_enabled(self, pad_id: str, key: str, enabled: bool, who: str | None) -> bool:
        """The owner turns the pad's language help on or off: recorded in its history, told to every socket."""
        await self.pads.set_setting(pad_id, key, SETTING, enabled, who)
        session = self.sessions.get(pad_id)
        if session is not None:
            session.set_enabled(enabled)
        return enabled

    # --- the node's life --------------------------------------------------------------------------------
    async def shut_down(self) -> None:
        """Every language-help socket closed, every language server stopped and its sandbox removed."""
        for timer in self._idle.values():
            timer.cancel()
        self._idle.clear()
        sessions = list(self.sessions.values())
        self.sessions.clear()
        for session in sessions:
            for participant in session.participants:
                participant.outgoing.close(CloseCode.GOING_AWAY, "the server is shutting down")
        await asyncio.gather(*(session.close() for session in sessions), *self._tasks, return_exceptions=True)
        if self.launcher is not None:
            await self.launcher.settled()

    @property
    def running(self) -> int:
        """Language servers this node runs (or starts) now."""
        return len(self.slots.held)
