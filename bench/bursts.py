"""Section 6: bursts, as a person pressing Run feels them, with the server's default pool (floor 2, growing with
demand) rather than the other sections' fixed pool of 8.

- One client, back to back: `burst_runs` hello worlds, each sent as soon as the last one closed.
- Four clients at once, back to back, `burst_runs` each.
- Sandbox acquisition: seconds from `run` to `started` (the sandbox is ready, its limits set and its files
  written) for Python, Java and C++ (languages with limits of their own) while the pool is warm.
- The reference: bare `/usr/bin/python3 -c "print('hello')"` to its first byte, measured before and after the
  bursts (interleaving it would break the back to back), so every ratio is against the same minutes.
The 1-minute load average is recorded around each part: the machine is shared.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any

from padbox.client import Client, connect

from .docker_engine import HELLO, Engine
from .padbox_process import INSTANCE, PadboxProcess, ServerConfig, padbox_server
from .plan import Plan
from .processes import bare_argv, first_byte
from .runs import check, hello_output_s
from .stats import percentile

DEFAULT_POOL_FLOOR = 2  # PADBOX_POOL_SIZE's default: what a server nobody tuned runs with
SOURCES = {
    "python": HELLO,
    "java": 'public class Main { public static void main(String[] a) { System.out.println("hello"); } }',
    "cpp": '#include <iostream>\nint main() { std::cout << "hello" << std::endl; }',
}


def summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "runs": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "max_ms": round(max(ms), 1),
    }


def load() -> float:
    return round(os.getloadavg()[0], 2)


async def first_output(server: PadboxProcess) -> float:
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source=HELLO)
        return hello_output_s(check(await client.collect(timeout=None)))


async def back_to_back(server: PadboxProcess, runs: int) -> list[float]:
    return [await first_output(server) for _ in range(runs)]


async def acquisition(server: PadboxProcess, language: str) -> tuple[float, str]:
    """Seconds from `run` to `started`, and the run's id."""
    async with connect(server.ws_url) as ws:
        client = Client(ws)
        await client.run(language=language, source=SOURCES[language])
        t = check(await client.collect(timeout=None))
    started = t.first("started")
    assert started is not None and t.verdict == "ok", t.frames
    return started.at, t.run_id or ""


async def reference(runs: int) -> list[float]:
    return [await first_byte(bare_argv()) for _ in range(runs)]


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    config = replace(config, pool_size=DEFAULT_POOL_FLOOR)
    result: dict[str, Any] = {"load_average": {}}
    bare = await reference(plan.burst_runs // 2)
    async with padbox_server(config) as server:
        used: set[str] = set()
        await engine.wait_until_quiet(INSTANCE, DEFAULT_POOL_FLOOR, used)
        before = load()
        one = await back_to_back(server, plan.burst_runs)
        result["one_client"] = summary(one)
        result["load_average"]["one_client"] = [before, load()]
        await asyncio.sleep(plan.burst_pause_s)  # the pool back to a quiet state, as a new class would find it
        await engine.wait_until_quiet(INSTANCE, DEFAULT_POOL_FLOOR, used)
        before = load()
        four = await asyncio.gather(*(back_to_back(server, plan.burst_runs) for _ in range(4)))
        result["four_clients"] = summary([s for client in four for s in client])
        result["load_average"]["four_clients"] = [before, load()]
        await asyncio.sleep(plan.burst_pause_s)
        before = load()
        acquired: dict[str, list[float]] = {language: [] for language in SOURCES}
        for _ in range(plan.acquire_runs):
            for language in SOURCES:  # interleaved, a warm pool before each
                await engine.wait_until_quiet(INSTANCE, DEFAULT_POOL_FLOOR, used)
                seconds, run_id = await acquisition(server, language)
                used.add(run_id)
                acquired[language].append(seconds)
        result["acquisition"] = {language: summary(values) for language, values in acquired.items()}
        result["load_average"]["acquisition"] = [before, load()]
    before = load()
    bare += await reference(plan.burst_runs - len(bare))
    result["reference"] = summary(bare)
    result["load_average"]["reference"] = [before, load()]
    ref = result["reference"]["p50_ms"]
    result["ratios"] = {
        "one_client_p50": round(result["one_client"]["p50_ms"] / ref, 2),
        "one_client_p90": round(result["one_client"]["p90_ms"] / ref, 2),
        "four_clients_p50": round(result["four_clients"]["p50_ms"] / ref, 2),
    }
    return result
