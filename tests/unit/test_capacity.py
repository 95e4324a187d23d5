"""Admission without Docker: the cap, FIFO order, positions, a full queue, and leaving the queue."""

from __future__ import annotations

import asyncio

import pytest

from padbox.core.capacity import Busy, Capacity
from tests.eventually import eventually


async def nothing(position: int) -> None:
    return None


async def test_sessions_under_the_cap_start_at_once() -> None:
    capacity = Capacity(limit=2, queue_limit=1)
    async with capacity.slot(nothing), capacity.slot(nothing):
        assert capacity.running == 2
    assert capacity.running == 0


async def test_waiters_are_served_in_arrival_order_and_told_their_position() -> None:
    capacity = Capacity(limit=1, queue_limit=5)
    order: list[str] = []
    positions: dict[str, list[int]] = {"b": [], "c": []}
    release = asyncio.Event()

    async def session(name: str) -> None:
        async def told(position: int) -> None:
            positions[name].append(position)

        async with capacity.slot(told):
            order.append(name)
            if name == "a":
                await release.wait()

    first = asyncio.create_task(session("a"))
    await eventually(lambda: capacity.running == 1, 1)
    second = asyncio.create_task(session("b"))
    await eventually(lambda: capacity.queue_length == 1, 1)
    third = asyncio.create_task(session("c"))
    await eventually(lambda: capacity.queue_length == 2, 1)
    release.set()
    await asyncio.gather(first, second, third)
    assert order == ["a", "b", "c"]
    assert positions == {"b": [1], "c": [2, 1]}


async def test_a_full_queue_is_refused_with_busy() -> None:
    capacity = Capacity(limit=1, queue_limit=1)
    hold = asyncio.Event()

    async def holder() -> None:
        async with capacity.slot(nothing):
            await hold.wait()

    tasks = [asyncio.create_task(holder()), asyncio.create_task(holder())]
    await eventually(lambda: capacity.running == 1 and capacity.queue_length == 1, 1)
    with pytest.raises(Busy):
        async with capacity.slot(nothing):
            pass
    hold.set()
    await asyncio.gather(*tasks)


async def test_a_waiter_that_leaves_is_out_of_the_queue_at_once() -> None:
    capacity = Capacity(limit=1, queue_limit=5)
    hold = asyncio.Event()
    ran: list[str] = []

    async def session(name: str) -> None:
        async with capacity.slot(nothing):
            ran.append(name)
            await hold.wait()

    first = asyncio.create_task(session("a"))
    await eventually(lambda: capacity.running == 1, 1)
    leaver = asyncio.create_task(session("leaver"))
    await eventually(lambda: capacity.queue_length == 1, 1)
    leaver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaver
    assert capacity.queue_length == 0
    hold.set()
    await first
    assert ran == ["a"] and capacity.running == 0
