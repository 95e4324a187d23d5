"""Section 2: sustained runs per second at several concurrencies, next to the raw Docker ceiling.

One driver measures both: `concurrency` workers each repeat a whole run back to back. Runs that
end during the warm-up are not counted (padbox starts with a full warm pool, a burst it cannot
sustain); the rate is the runs that end inside the measuring window divided by its length.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from .docker_engine import HELLO, Engine
from .latency import wait_until_quiet
from .padbox_process import PadboxProcess, ServerConfig, padbox_server
from .plan import Plan
from .stats import Latency
from .ws_client import RunFailed, run_message, run_once

RunOnce = Callable[[], Awaitable[float | None]]  # one whole run; its first-output time when it has one


@dataclass(frozen=True)
class Rate:
    concurrency: int
    runs_per_s: float
    runs_in_window: int
    first_output: dict[str, Any] | None  # padbox only: run -> first stdout under this load

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def sustained(run_one: RunOnce, concurrency: int, warmup_s: float, window_s: float) -> Rate:
    start = time.perf_counter()
    window_opens, window_closes = start + warmup_s, start + warmup_s + window_s
    ended: list[float] = []
    first_outputs: list[float] = []

    async def worker() -> None:
        while time.perf_counter() < window_closes:
            first = await run_one()
            now = time.perf_counter()
            if window_opens <= now <= window_closes:
                ended.append(now)
                if first is not None:
                    first_outputs.append(first)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Rate(concurrency, round(len(ended) / window_s, 2), len(ended),
                Latency.of(first_outputs).as_dict() if first_outputs else None)


def padbox_run(server: PadboxProcess, used: set[str]) -> RunOnce:
    message = run_message(HELLO)

    async def run() -> float:
        timing = await run_once(server.ws_url, message)
        used.add(timing.session)
        if timing.verdict != "ok" or timing.first_output_s is None:
            raise RunFailed(f"a hello world did not print and exit cleanly: {timing}")
        return timing.first_output_s

    return run


def ceiling_run(engine: Engine) -> RunOnce:
    async def run() -> None:
        await engine.ceiling_run()
        return None

    return run


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> list[dict[str, Any]]:
    if config.pool_size < max(plan.rate_concurrency):
        raise ValueError("the warm pool must be at least the highest concurrency measured")
    await engine.remove_ceiling_leftovers()
    ceilings = [await sustained(ceiling_run(engine), c, plan.rate_warmup_s, plan.rate_window_s)
                for c in plan.rate_concurrency]
    padbox: list[Rate] = []
    used: set[str] = set()
    async with padbox_server(config) as server:
        for concurrency in plan.rate_concurrency:
            await wait_until_quiet(engine, config.pool_size, used)
            run = padbox_run(server, used)
            padbox.append(await sustained(run, concurrency, plan.rate_warmup_s, plan.rate_window_s))
    return [
        {"concurrency": p.concurrency, "padbox_runs_per_s": p.runs_per_s, "docker_ceiling_runs_per_s": d.runs_per_s,
         "ratio": round(p.runs_per_s / d.runs_per_s, 3) if d.runs_per_s else None,
         "padbox_runs_in_window": p.runs_in_window, "docker_runs_in_window": d.runs_in_window,
         "padbox_first_output_under_load": p.first_output}
        for p, d in zip(padbox, ceilings, strict=True)
    ]
