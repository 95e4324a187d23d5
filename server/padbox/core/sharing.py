"""Shared runs: one running program, several people watching, any driver typing into it.

Every run is a SharedRun, even one nobody joins: the starter is simply its first driver.
Frames go to each participant through its own bounded Outbox, drained by its own sender,
so a slow participant never slows the program or the others. A run with a single
participant is the exception: there the program itself waits for that one reader
(backpressure all the way to the program's write), which is what a lone client wants.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from padbox.core import events
from padbox.core.capacity import Busy
from padbox.core.events import Error, FileEntry, Output, Presence, Snapshot, StageBegan, Started, Typed
from padbox.core.outbox import Outbox
from padbox.core.protocol import (
    CloseCode,
    EofMessage,
    ErrorCode,
    ProtocolError,
    ResizeMessage,
    Role,
    Signal,
    SignalMessage,
    StdinMessage,
)
from padbox.core.session import Emit, Session

log = logging.getLogger("padbox.sharing")

SHARE_KEY_BYTES = 24  # 192 bits from the OS's cryptographic source
OUTBOX_LIMIT = 1 << 20  # frames waiting for one participant, in bytes; past it a shared participant is dropped
STALLED_READER_S = 10.0  # a run's only participant may hold its program back this long, then it is dropped
# A recorded run (a pad's: the pad takes part as its recorder) stays joinable this long after it ended: every page on
# the pad is told of the run and joins it a moment after it started, the presser's own included, and a program
# quicker than that moment would otherwise end before any page saw its output. A join then gets the whole run as
# its snapshot (output, exit) and the socket closes at once. Other runs are gone when they end: their starter saw
# them whole, and a share link to an ended run says so.
FINISHED_LINGER_S = 10.0
NO_SUCH_RUN = "no shared run has that id and key"
WATCH_ONLY = "that key lets you watch this run, not drive it: join with role viewer"
SHUTTING_DOWN = "the server is shutting down"

SessionFactory = Callable[[Emit], Session]
Execute = Callable[[Session], Awaitable[None]]


@dataclass(frozen=True)
class Frame:
    """An event and its text frame, encoded once however many participants receive it."""

    event: events.AnyEvent
    text: str

    @classmethod
    def of(cls, event: events.AnyEvent) -> Frame:
        return cls(event, events.encode(event))

    def __len__(self) -> int:
        """What the frame counts against its participant's outbox: its text's length."""
        return len(self.text)


def replayed_bytes(event: events.AnyEvent) -> int:
    """What an event counts against the replay limit: the text of output and typed input."""
    return len(event.data.encode()) if isinstance(event, Output | Typed) else 0


class ViewerInputRefused(ProtocolError):
    """A viewer tried to type or signal: refused with an error, but it keeps watching."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, "viewers cannot send input to the program; join as a driver to type")


@dataclass
class ReplayBuffer:
    """What a joiner missed: every frame since `started`, output bounded by bytes (oldest dropped first)."""

    limit: int
    frames: list[events.AnyEvent] = field(default_factory=list)
    output_bytes: int = 0
    omitted_bytes: int = 0

    def add(self, event: events.AnyEvent) -> None:
        self.frames.append(event)
        self.output_bytes += replayed_bytes(event)
        while self.output_bytes > self.limit:
            oldest = next(i for i, e in enumerate(self.frames) if replayed_bytes(e))
            size = replayed_bytes(self.frames.pop(oldest))
            self.output_bytes -= size
            self.omitted_bytes += size


@dataclass(eq=False)
class Participant:
    role: Role
    outbox: Outbox[Frame]
    starter: bool = False
    # A recorder (a pad keeping its run's transcript) is sent what drivers type even into a terminal, where the
    # others see it as the terminal's echo instead.
    hears_input: bool = False


class SharedRun:
    """One run and everyone attached to it."""

    def __init__(self, session_factory: SessionFactory, execute: Execute, registry: ShareRegistry) -> None:
        self.registry = registry
        # Two keys, so a watch link cannot be edited into a driving one: the driver key grants both roles.
        self.driver_key = secrets.token_urlsafe(SHARE_KEY_BYTES)
        self.viewer_key = secrets.token_urlsafe(SHARE_KEY_BYTES)
        self.session = session_factory(self.publish)
        self._execute = execute
        self.participants: list[Participant] = []
        self.replay = ReplayBuffer(registry.replay_limit)
        self.ever_joined = False
        self.stage: StageBegan | None = None
        self.task: asyncio.Task[None] | None = None
        self._grace: asyncio.TimerHandle | None = None
        self.finished = asyncio.Event()
        self.close_code = CloseCode.NORMAL  # how the run's sockets were closed when it ended

    # --- membership ------------------------------------------------------------------------
    @property
    def drivers(self) -> int:
        return sum(1 for p in self.participants if p.role is Role.DRIVER)

    def attach_starter(self) -> Participant:
        participant = Participant(Role.DRIVER, Outbox(OUTBOX_LIMIT), starter=True)
        self.participants.append(participant)
        return participant

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"run-{self.session.id}")

    def join(self, role: Role) -> Participant:
        """A new participant; its first frame is the snapshot, queued before any live frame."""
        if self.finished.is_set():  # lingering: the whole run as it was, then the end
            late = Participant(role, Outbox(OUTBOX_LIMIT))
            late.outbox.offer(Frame.of(self.snapshot(role)))
            late.outbox.close(self.close_code)
            return late
        if len(self.participants) >= self.registry.max_participants:
            raise Busy(f"this run already has {self.registry.max_participants} participants", 5)
        participant = Participant(role, Outbox(OUTBOX_LIMIT))
        participant.outbox.offer(Frame.of(self.snapshot(role)))
        self.participants.append(participant)
        self.ever_joined = True
        if role is Role.DRIVER:
            self._cancel_grace()
        self._announce_presence()
        return participant

    def leave(self, participant: Participant) -> None:
        if participant not in self.participants:
            return
        self.participants.remove(participant)
        participant.outbox.close(CloseCode.NORMAL)
        if self.finished.is_set():
            return
        self._announce_presence()
        if self.drivers == 0:
            self._no_drivers_left()

    def _no_drivers_left(self) -> None:
        """Viewers alone do not keep a run alive. An unshared run ends at once; a shared one after a grace."""
        if not self.ever_joined:
            self._abandon()
        elif self._grace is None:
            grace = self.registry.grace_s
            self._grace = asyncio.get_running_loop().call_later(grace, self._grace_expired)

    def _cancel_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def _grace_expired(self) -> None:
        self._grace = None
        if self.drivers:
            return
        if self.participants:  # viewers see the program killed and its exit frames
            asyncio.get_running_loop().create_task(self.session.send_signal(Signal.SIGKILL))
        else:
            self._abandon()

    def _abandon(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _announce_presence(self) -> None:
        viewers = len(self.participants) - self.drivers
        self._fan_out(Frame.of(Presence(self.drivers, viewers)))

    # --- input from participants ------------------------------------------------------------------
    async def input(self, participant: Participant, message: object) -> None:
        if participant.role is not Role.DRIVER:
            raise ViewerInputRefused()
        session = self.session
        if isinstance(message, StdinMessage):
            await session.send_stdin(message.data)
            echo = Typed(message.data)
            if not session.plan.tty:  # a terminal echoes typing itself; pipes do not, so show it to the others
                self.replay.add(echo)
                self._fan_out(Frame.of(echo), skip=participant)
            else:
                self._tell_recorders(Frame.of(echo), skip=participant)
        elif isinstance(message, EofMessage):
            await session.send_eof()
        elif isinstance(message, SignalMessage):
            await session.send_signal(message.signal)
        elif isinstance(message, ResizeMessage):
            await session.resize(message.cols, message.rows)

    # --- output to participants ---------------------------------------------------------------
    async def publish(self, event: events.AnyEvent) -> None:
        """Called by the session for every event: fan it out, remember it for joiners."""
        if isinstance(event, Started):
            self.registry.register(self.session.id, self)
            event = msgspec.structs.replace(event, driver_key=self.driver_key, viewer_key=self.viewer_key)
        else:
            self.replay.add(event)
        if isinstance(event, StageBegan):
            self.stage = event
        await self._deliver(Frame.of(event))

    async def _deliver(self, frame: Frame) -> None:
        if len(self.participants) == 1:
            lone = self.participants[0]
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the frame's put when it
                # finishes together with a cancellation, swallowing it, and the run a client abandoned
                # while a frame was on its way ran on to its time limit.
                async with asyncio.timeout(STALLED_READER_S):
                    await lone.outbox.put(frame)
            except TimeoutError:
                # Backpressure has limits: a client that reads nothing for this long has gone, whatever
                # its socket says. Dropping it ends the run, frees its slot and removes its container.
                self._drop(lone)
        else:
            self._fan_out(frame)

    def _fan_out(self, frame: Frame, skip: Participant | None = None) -> None:
        for participant in list(self.participants):
            if participant is skip:
                continue
            if not participant.outbox.offer(frame):
                self._drop(participant)

    def _tell_recorders(self, frame: Frame, skip: Participant) -> None:
        for participant in list(self.participants):
            if participant.hears_input and participant is not skip and not participant.outbox.offer(frame):
                self._drop(participant)

    def _drop(self, participant: Participant) -> None:
        """A participant too far behind is closed with 1013; it may join again for a fresh snapshot."""
        log.info("run %s: dropping a participant that stopped keeping up", self.session.id)
        if participant in self.participants:
            self.participants.remove(participant)
        participant.outbox.abort(CloseCode.TRY_AGAIN_LATER)
        if not self.finished.is_set():
            self._announce_presence()
            if self.drivers == 0:
                self._no_drivers_left()

    def snapshot(self, role: Role) -> Snapshot:
        plan = self.session.plan
        return Snapshot(
            id=self.session.id,
            role=role,
            language=plan.language.id,
            version=plan.version,
            files=tuple(FileEntry(f.name, f.content) for f in plan.files),
            limits=plan.limits.as_dict(),
            tty=plan.tty,
            stage=self.stage.stage if self.stage else None,
            frames=tuple(self.replay.frames),
            omitted_bytes=self.replay.omitted_bytes,
            viewer_key=self.viewer_key,
            driver_key=self.driver_key if role is Role.DRIVER else None,
        )

    # --- the run's life ---------------------------------------------------------------------------
    async def _run(self) -> None:
        close = CloseCode.NORMAL
        try:
            await self._execute(self.session)
            if self.session.error is not None:
                close = self.session.error.close_code
        except asyncio.CancelledError:
            close = CloseCode.GOING_AWAY
        except Exception:
            log.exception("run %s crashed", self.session.id)
            self._fan_out(Frame.of(Error(ErrorCode.INTERNAL, "the server failed running this")))
            close = CloseCode.INTERNAL_ERROR
        finally:
            self._cancel_grace()
            self.close_code = close
            self.finished.set()
            recorded = any(p.hears_input for p in self.participants)
            self.registry.retire(self.session.id, self, FINISHED_LINGER_S if recorded else 0.0)
            for participant in self.participants:
                participant.outbox.close(close)

    async def shut_down(self) -> None:
        """Server shutdown: everyone is told, the run is ended, its container removed."""
        self._fan_out(Frame.of(Error(ErrorCode.INTERNAL, SHUTTING_DOWN)))
        for participant in self.participants:
            participant.outbox.close(CloseCode.GOING_AWAY)
        self._abandon()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


class ShareRegistry:
    """Runs that can be joined, by id. Lookups compare the key in constant time, and a wrong id and
    a wrong key get the same answer, so ids cannot be probed."""

    def __init__(self, max_participants: int, grace_s: float, replay_limit: int) -> None:
        self.max_participants = max_participants
        self.grace_s = grace_s
        self.replay_limit = replay_limit
        self.runs: dict[str, SharedRun] = {}
        self.active: set[SharedRun] = set()

    def create(self, session_factory: SessionFactory, execute: Execute) -> SharedRun:
        run = SharedRun(session_factory, execute, self)
        self.active.add(run)
        return run

    def register(self, run_id: str, run: SharedRun) -> None:
        self.runs[run_id] = run

    def unregister(self, run_id: str, run: SharedRun) -> None:
        if self.runs.get(run_id) is run:
            del self.runs[run_id]
        self.active.discard(run)

    def retire(self, run_id: str, run: SharedRun, linger_s: float) -> None:
        """An ended run: no longer active, still found by a join for `linger_s` (a run that never started was never
        registered, and is simply gone)."""
        self.active.discard(run)
        if linger_s <= 0 or self.runs.get(run_id) is not run:
            self.unregister(run_id, run)
        else:
            asyncio.get_running_loop().call_later(linger_s, self.unregister, run_id, run)

    def find(self, run_id: str, key: str, role: Role) -> SharedRun:
        """The run whose key grants `role`. An unknown id and a wrong key are refused alike, compared in
        constant time, so neither ids nor keys can be probed."""
        run = self.runs.get(run_id)
        unknown = secrets.token_urlsafe(SHARE_KEY_BYTES)
        drives = hmac.compare_digest(key.encode(), (run.driver_key if run else unknown).encode())
        watches = hmac.compare_digest(key.encode(), (run.viewer_key if run else unknown).encode())
        if run is None or not (drives or watches):
            raise ProtocolError(ErrorCode.BAD_REQUEST, NO_SUCH_RUN)
        if role is Role.DRIVER and not drives:
            raise ProtocolError(ErrorCode.BAD_REQUEST, WATCH_ONLY)
        return run

    async def shut_down(self) -> None:
        await asyncio.gather(*(run.shut_down() for run in list(self.active)), return_exceptions=True)
