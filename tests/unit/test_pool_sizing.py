"""The warm pool's sizing policy (core/pool_sizing.py), driven by a clock and an arrival sequence: no Docker,
no real time."""

from __future__ import annotations

import pytest

from padbox.core.pool import starts_needed
from padbox.core.pool_sizing import PoolBounds, PoolSizing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def policy(clock: Clock, **changes: int | float) -> PoolSizing:
    values: dict[str, int | float] = dict(
        floor=2, ceiling=8, window_s=30.0, memory_budget_mb=4096, sandbox_memory_mb=256, max_concurrency=4
    )
    values.update(changes)
    return PoolSizing(PoolBounds(**values), clock)  # type: ignore[arg-type]


def arrivals(sizing: PoolSizing, clock: Clock, every_s: float, count: int) -> None:
    for _ in range(count):
        sizing.arrival()
        clock.now += every_s


def test_an_idle_server_keeps_the_floor() -> None:
    clock = Clock()
    sizing = policy(clock)
    assert sizing.rate() == 0 and sizing.target(room=16) == 2


def test_the_target_is_arrival_rate_times_start_time_with_headroom() -> None:
    clock = Clock()
    sizing = policy(clock)
    sizing.started(0.4, in_flight=1)
    arrivals(sizing, clock, every_s=0.2, count=30)  # 5 runs a second for 6 s
    assert sizing.rate() == pytest.approx(5, rel=0.1)
    assert sizing.target(room=16) == 4  # ceil(5/s x 0.4 s x 2)


def test_a_burst_raises_the_target_within_a_second_up_to_the_ceiling() -> None:
    clock = Clock()
    sizing = policy(clock)
    sizing.started(0.5, in_flight=1)
    arrivals(sizing, clock, every_s=0.02, count=20)  # a class presses Run within 0.4 s
    assert sizing.rate() >= 20 and sizing.target(room=16) == 8


def test_the_target_never_passes_the_free_slots_or_the_memory_budget() -> None:
    clock = Clock()
    sizing = policy(clock, memory_budget_mb=1024)  # four sandboxes of 256 MB
    sizing.started(0.5, in_flight=1)
    arrivals(sizing, clock, every_s=0.01, count=50)
    assert sizing.target(room=16) == 4
    assert sizing.target(room=3) == 3
    assert sizing.target(room=0) == 0  # every slot is running: not even the floor


def test_after_a_whole_window_without_runs_the_target_is_back_at_the_floor() -> None:
    clock = Clock()
    sizing = policy(clock)
    sizing.started(0.5, in_flight=1)
    arrivals(sizing, clock, every_s=0.05, count=40)
    assert sizing.target(room=16) == 8
    clock.now += 4  # the 1 s window has let the burst go; the 5 s window still holds half of it
    assert 2 < sizing.target(room=16) < 8
    clock.now += 30  # and now the whole window
    assert sizing.rate() == 0 and sizing.target(room=16) == 2


def test_the_start_time_follows_measurements() -> None:
    clock = Clock()
    sizing = policy(clock)
    sizing.started(0.2, in_flight=1)
    assert sizing.start_s == 0.2
    for _ in range(20):
        sizing.started(0.6, in_flight=1)
    assert sizing.start_s == pytest.approx(0.6, abs=0.01)


def test_refill_concurrency_grows_while_the_engine_keeps_up_and_halves_when_it_saturates() -> None:
    clock = Clock()
    sizing = policy(clock, max_concurrency=6)
    assert sizing.concurrency == 2
    sizing.started(0.2, in_flight=2)
    for _ in range(10):  # starts with the whole allowance in flight, each as fast as the fastest
        sizing.started(0.22, in_flight=sizing.concurrency)
    assert sizing.concurrency == 6  # never past the operator's maximum
    sizing.started(0.45, in_flight=6)  # one start twice as slow: noise on a busy machine, not saturation
    assert sizing.concurrency == 6
    for _ in range(3):  # starts stay four times slower: the engine is saturated
        sizing.started(1.0, in_flight=sizing.concurrency)
    assert sizing.concurrency == 1
    sizing.started(1.0, in_flight=1)
    assert sizing.concurrency == 1  # never below one


def test_starts_that_did_not_use_the_allowance_say_nothing_about_more() -> None:
    clock = Clock()
    sizing = policy(clock)
    for _ in range(5):
        sizing.started(0.2, in_flight=1)  # only one was in flight: no evidence the engine takes three
    assert sizing.concurrency == 2


def test_a_pool_whose_ceiling_is_its_floor_stays_fixed() -> None:
    clock = Clock()
    sizing = policy(clock, floor=3, ceiling=3)
    sizing.started(1.0, in_flight=1)
    arrivals(sizing, clock, every_s=0.01, count=100)
    assert sizing.target(room=16) == 3


# --- how many sandboxes to start (core/pool.py) ------------------------------------------------------------
def test_a_container_pool_starts_what_the_target_and_the_waiting_runs_lack() -> None:
    assert starts_needed(2, waiting=0, ready=0, making=0, renewing=0, lent=0) == 2
    assert starts_needed(1, waiting=3, ready=0, making=1, renewing=0, lent=0) == 3
    assert starts_needed(1, waiting=1, ready=0, making=2, renewing=0, lent=0) == 0
    assert starts_needed(1, waiting=0, ready=4, making=0, renewing=0, lent=0) == 0


def test_a_host_out_with_a_run_stands_in_for_the_target() -> None:
    assert starts_needed(1, waiting=0, ready=0, making=0, renewing=0, lent=1) == 0
    assert starts_needed(3, waiting=0, ready=0, making=0, renewing=0, lent=1) == 2


def test_a_run_that_waits_while_a_host_is_renewed_gets_that_host_not_a_new_container() -> None:
    assert starts_needed(1, waiting=1, ready=0, making=0, renewing=1, lent=0) == 0
    assert starts_needed(1, waiting=0, ready=0, making=0, renewing=1, lent=0) == 0


def test_runs_waiting_beyond_every_host_coming_back_get_new_containers() -> None:
    assert starts_needed(2, waiting=4, ready=0, making=0, renewing=0, lent=2) == 4


def test_while_hosts_come_back_renewed_the_target_follows_the_renewal_time() -> None:
    now = [0.0]
    sizing = PoolSizing(PoolBounds(1, 64, 60.0, 100_000, 256, 8), lambda: now[0])
    sizing.started(0.3, 1)
    for _ in range(400):  # 40 runs a second for 10 s
        now[0] += 0.025
        sizing.arrival()
    assert sizing.target(room=100) >= 20  # sized for container starts
    sizing.renewed(0.015)
    assert sizing.target(room=100) <= 2  # hosts circulate: a renewal is the start that counts
    now[0] += 61.0  # no renewal for a whole window: back to container starts
    for _ in range(400):
        now[0] += 0.025
        sizing.arrival()
    assert sizing.target(room=100) >= 20
