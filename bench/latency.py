"""Section 1 (and 5): time from asking for a Python hello world to its first output byte.

The three contenders are measured interleaved, one of each per round, so noise from anything else
on the machine (other people's tests) falls on all three alike. Before each padbox run the bench
waits until the warm pool is full again and the previous container is gone: this is the latency
of a server that is not saturated. What happens when runs come back to back is section 2's business.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from padbox.client import Client, connect

from .docker_engine import HELLO, Engine
from .padbox_process import INSTANCE, PadboxProcess, ServerConfig, ServerFailed, padbox_server
from .plan import Plan
from .processes import bare_argv, cold_container_argv, first_byte
from .runs import check, hello_output_s
from .stats import Latency


async def padbox_first_output(server: PadboxProcess) -> tuple[float, float, str]:
    """(run -> first stdout, connect + run -> first stdout, session id) for one hello world."""
    opened = time.perf_counter()
    async with connect(server.ws_url) as ws:
        connected = time.perf_counter() - opened
        client = Client(ws)
        await client.run(language="python", source=HELLO)
        t = check(await client.collect(timeout=None))
    first_output_s = hello_output_s(t)
    return first_output_s, connected + first_output_s, t.run_id or ""


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    async with padbox_server(config) as server:
        return await _rounds(plan, engine, config, server)


async def _rounds(plan: Plan, engine: Engine, config: ServerConfig, server: PadboxProcess | None) -> dict[str, Any]:
    """Interleaved rounds of every contender; padbox's only when a server is given."""
    samples: dict[str, list[float]] = {
        "padbox": [],
        "padbox_with_connect": [],
        "cold_container": [],
        "bare_process": [],
    }
    cold = cold_container_argv(config.runtime)
    used: set[str] = set()
    for round_number in range(plan.latency_warmup + plan.latency_runs):
        measured: dict[str, float] = {}
        if server is not None:
            await engine.wait_until_quiet(INSTANCE, config.pool_size, used)
            measured["padbox"], measured["padbox_with_connect"], session = await padbox_first_output(server)
            used.add(session)
        measured["bare_process"] = await first_byte(bare_argv())
        if server is not None:
            await engine.wait_until_quiet(INSTANCE, config.pool_size, used)
        measured["cold_container"] = await first_byte(cold)
        if round_number >= plan.latency_warmup:
            for name, value in measured.items():
                samples[name].append(value)
    return {name: Latency.of(values).as_dict() for name, values in samples.items() if values}


async def measure_gvisor(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    """Section 5: the same measurement with every sandbox under gVisor, if the engine has it.

    If padbox cannot run under it, the cold gVisor container is still measured and padbox's failure recorded.
    """
    runtimes = await engine.runtimes()
    if "runsc" not in runtimes:
        listed = ", ".join(runtimes)
        return {"available": False, "note": f"not available: `docker info` lists no runsc runtime ({listed})"}
    gvisor = replace(config, runtime="runsc")
    try:
        return {"available": True, **await measure(plan, engine, gvisor)}
    except ServerFailed as failed:
        return {"available": True, "padbox_error": str(failed), **await _rounds(plan, engine, gvisor, None)}
