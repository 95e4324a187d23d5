"""Section 2: sustained runs per second at several concurrencies, next to the raw Docker ceiling.

One driver measures both: `concurrency` workers each repeat a whole run back to back. Runs that
end during the warm-up are not counted (padbox starts with a full warm pool, a burst it cannot
sustain); the rate is the runs that end inside the measuring window divided by its length.
Padbox and the ceiling take turns, window after window, so a burst of someone else's work on
the machine falls on both; CPU time per run is recorded beside each rate to say where it went.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .cpu import MACHINE, CpuMeter, docker_daemons
from .docker_engine import HELLO, Engine
from .padbox_process import INSTANCE, PadboxProcess, ServerConfig, padbox_server
from .plan import Plan
from .runs import hello_output_s, run_once
from .stats import Latency

RunOnce = Callable[[], Awaitable[float | None]]  # one whole run; its first-output time when it has one


@dataclass
class Tally:
    """Every measuring window of one contender at one concurrency, added up."""

    runs: int = 0
    seconds: float = 0.0
    first_outputs: list[float] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)

    def add_cpu(self, spent: dict[str, float]) -> None:
        for name, seconds in spent.items():
            self.cpu_s[name] = self.cpu_s.get(name, 0.0) + seconds

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0

    def cpu_ms_per_run(self) -> dict[str, float]:
        """CPU per run of each watched process; `machine` is every CPU's busy time, whoever spent it."""
        return {name: round(s * 1000 / self.runs, 1) for name, s in self.cpu_s.items() if self.runs}

    def machine_busy(self) -> float:
        return self.cpu_s.get(MACHINE, 0.0) / (self.seconds * (os.cpu_count() or 1)) if self.seconds else 0.0


async def sustained(run_one: RunOnce, concurrency: int, plan: Plan, meter: CpuMeter, tally: Tally) -> None:
    """One warm-up and one measuring window at this concurrency, added to `tally`."""
    window_open = window_close = float("inf")
    stop_at = time.perf_counter() + plan.rate_warmup_s + plan.rate_window_s

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            first = await run_one()
            if window_open <= time.perf_counter() <= window_close:
                tally.runs += 1
                if first is not None:
                    tally.first_outputs.append(first)

    workers = asyncio.gather(*(worker() for _ in range(concurrency)))
    try:
        await asyncio.sleep(plan.rate_warmup_s)
        before, window_open = meter.snapshot(), time.perf_counter()
        await asyncio.sleep(plan.rate_window_s)
        window_close, after = time.perf_counter(), meter.snapshot()
        await workers
    except BaseException:
        workers.cancel()
        raise
    tally.seconds += window_close - window_open
    tally.add_cpu(CpuMeter.spent(before, after))


def padbox_run(server: PadboxProcess, used: set[str]) -> RunOnce:
    async def run() -> float:
        t = await run_once(server.ws_url, HELLO)
        used.add(t.run_id or "")
        return hello_output_s(t)

    return run


def ceiling_run(engine: Engine) -> RunOnce:
    async def run() -> None:
        await engine.ceiling_run()
        return None

    return run


def row(concurrency: int, padbox: Tally, ceiling: Tally) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "padbox_runs_per_s": round(padbox.runs_per_s, 2),
        "docker_ceiling_runs_per_s": round(ceiling.runs_per_s, 2),
        "ratio": round(padbox.runs_per_s / ceiling.runs_per_s, 3) if ceiling.runs else None,
        "padbox_runs": padbox.runs,
        "docker_runs": ceiling.runs,
        "seconds_measured_each": round(padbox.seconds, 1),
        "padbox_first_output_under_load": Latency.of(padbox.first_outputs).as_dict() if padbox.first_outputs else None,
        "padbox_cpu_ms_per_run": padbox.cpu_ms_per_run(),
        "docker_cpu_ms_per_run": ceiling.cpu_ms_per_run(),
        "machine_busy_padbox": round(padbox.machine_busy(), 2),
        "machine_busy_docker": round(ceiling.machine_busy(), 2),
    }


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> list[dict[str, Any]]:
    if config.pool_size < max(plan.rate_concurrency):
        raise ValueError("the warm pool must be at least the highest concurrency measured")
    await engine.remove_ceiling_leftovers()
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    async with padbox_server(config) as server:
        meter = CpuMeter({**docker_daemons(), "server": server.pid})
        for concurrency in plan.rate_concurrency:
            padbox, ceiling = Tally(), Tally()
            for _ in range(plan.rate_rounds):
                await engine.wait_until_quiet(INSTANCE, config.pool_size, used)
                await sustained(ceiling_run(engine), concurrency, plan, meter, ceiling)
                await engine.wait_until_quiet(INSTANCE, config.pool_size, used)
                await sustained(padbox_run(server, used), concurrency, plan, meter, padbox)
            rows.append(row(concurrency, padbox, ceiling))
    return rows
