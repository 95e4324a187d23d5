"""The parts of shared runs that need no Docker: outboxes, the replay buffer, fan-out and dropping."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from padbox.core.events import StageBegan, Stdout, Typed
from padbox.core.protocol import ProtocolError, Role, Stage
from padbox.core.sharing import Frame, Outbox, ReplayBuffer, SharedRun, ShareRegistry
from tests.eventually import barrier


def out(data: str) -> Stdout:
    return Stdout(Stage.RUN, data)


def frame(text: str) -> Frame:
    return Frame(Typed(text), text)


def test_replay_buffer_drops_the_oldest_output_and_counts_it() -> None:
    replay = ReplayBuffer(limit=10)
    replay.add(StageBegan(Stage.RUN))
    for chunk in ("aaaa", "bbbb", "éééé"):  # é is two bytes
        replay.add(out(chunk))
    assert replay.frames == [StageBegan(Stage.RUN), out("éééé")]
    assert replay.omitted_bytes == 8 and replay.output_bytes == 8


async def test_outbox_refuses_past_its_limit_and_drains_in_order() -> None:
    box = Outbox(limit=10)
    assert box.offer(frame("12345")) and box.offer(frame("67890"))
    assert not box.offer(frame("x")), "a participant this far behind is to be dropped"
    box.close(1000)
    assert [await box.take(), await box.take(), await box.take()] == [frame("12345"), frame("67890"), None]


async def test_put_waits_for_room_backpressure_for_a_lone_reader() -> None:
    box = Outbox(limit=4)
    await box.put(frame("abcd"))
    waiting = asyncio.create_task(box.put(frame("efgh")))
    await barrier()  # the put has run as far as it can
    assert not waiting.done() and box.size == 4
    assert await box.take() == frame("abcd")
    await asyncio.wait_for(waiting, 1)
    assert await box.take() == frame("efgh")


async def execute_nothing(session: Any) -> None:
    pass


def fake_session(emit: Any) -> Any:
    plan = SimpleNamespace(
        language=SimpleNamespace(id="python"),
        version="3",
        files=(),
        tty=False,
        limits=SimpleNamespace(as_dict=lambda: {}),
    )
    return SimpleNamespace(id="run1", plan=plan, emit=emit)


async def test_a_participant_too_far_behind_is_dropped_without_slowing_the_others() -> None:
    registry = ShareRegistry(max_participants=4, grace_s=10, replay_limit=1 << 20)
    run = SharedRun(fake_session, execute_nothing, registry)
    starter = run.attach_starter()
    slow = run.join(Role.VIEWER)
    starter.outbox.limit = slow.outbox.limit = 64 * 1024
    reader_frames = []

    async def starter_reads() -> None:
        while (frame := await starter.outbox.take()) is not None:
            reader_frames.append(json.loads(frame.text))

    reading = asyncio.create_task(starter_reads())
    for _ in range(100):
        await asyncio.wait_for(run.publish(out("x" * 4096)), 1)  # never waits on the slow one
        await asyncio.sleep(0)
    assert slow not in run.participants and slow.outbox.close_code == 1013
    starter.outbox.close(1000)
    await reading
    assert sum(1 for f in reader_frames if f["type"] == "stdout") == 100
    assert {"type": "presence", "drivers": 1, "viewers": 0} in reader_frames


async def test_wrong_key_and_unknown_id_are_the_same_refusal() -> None:
    registry = ShareRegistry(max_participants=4, grace_s=10, replay_limit=1024)
    run = SharedRun(fake_session, execute_nothing, registry)
    registry.register("run1", run)
    errors = []
    for run_id, key in (("run1", "wrong"), ("nope", run.driver_key), ("nope", run.viewer_key)):
        try:
            registry.find(run_id, key, Role.VIEWER)
        except Exception as exc:  # noqa: BLE001
            errors.append(str(exc))
    assert len(errors) == 3 and errors[0] == errors[1] == errors[2]
    assert registry.find("run1", run.driver_key, Role.DRIVER) is run


async def test_the_viewer_key_watches_but_cannot_drive_and_the_driver_key_does_both() -> None:
    registry = ShareRegistry(max_participants=4, grace_s=10, replay_limit=1024)
    run = SharedRun(fake_session, execute_nothing, registry)
    registry.register("run1", run)
    assert run.viewer_key != run.driver_key
    assert registry.find("run1", run.viewer_key, Role.VIEWER) is run
    assert registry.find("run1", run.driver_key, Role.VIEWER) is run
    with pytest.raises(ProtocolError, match="not drive it"):
        registry.find("run1", run.viewer_key, Role.DRIVER)


async def test_a_snapshot_hands_a_viewer_only_the_viewer_key() -> None:
    registry = ShareRegistry(max_participants=4, grace_s=10, replay_limit=1024)
    run = SharedRun(fake_session, execute_nothing, registry)
    viewer, driver = run.snapshot(Role.VIEWER), run.snapshot(Role.DRIVER)
    assert (viewer.viewer_key, viewer.driver_key) == (run.viewer_key, None)
    assert (driver.viewer_key, driver.driver_key) == (run.viewer_key, run.driver_key)
