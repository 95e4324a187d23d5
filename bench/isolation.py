"""Section `isolation`: what a run costs in each isolation mode, side by side in one run, against the same references.

Modes: `namespace` (warm containers host one run after another, each in a fresh box of namespaces) and
`container` (a container per run) under runc, and gVisor (runsc: `auto` keeps a container per run there) when the
engine has it. For each, a fresh server with a pool floor of 4 and the per-client caps raised:
- one client back to back (`burst_runs` hello worlds, each sent as the last one closed): first output p50 / p90;
- four clients back to back: first output p50;
- runs per second at concurrency 4 (a 3 s warm-up, then the `rate_window_s` window, `rate_rounds` times), with the
  CPU each run cost the server, dockerd and containerd, and the whole machine.
The references, measured in the same run: bare `/usr/bin/python3 -c "print('hello')"` to its first byte (before
and after the modes), with the machine CPU it costs per run, and Docker's raw create/start/wait/remove rate at
concurrency 4 with padbox's own container definition. "CPU per run beyond the program" is the machine's CPU per
padbox run minus the bare program's.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any

from .bursts import back_to_back, reference, summary
from .cpu import MACHINE, CpuMeter, docker_daemons
from .docker_engine import Engine
from .padbox_process import INSTANCE, ServerConfig, padbox_server
from .plan import Plan
from .rate import Tally, ceiling_run, padbox_run, sustained

CONCURRENCY = 4
POOL_FLOOR = 4
MODES = (("namespace", ""), ("container", ""), ("container", "runsc"))


def load() -> float:
    return round(os.getloadavg()[0], 2)


async def bare_cpu_ms(runs: int) -> tuple[dict[str, float], float]:
    """The bare interpreter's first output, and the machine CPU one such run costs (its own, mostly)."""
    meter = CpuMeter({})
    before = meter.snapshot()
    seconds = await reference(runs)
    spent = CpuMeter.spent(before, meter.snapshot())
    return summary(seconds), round(spent[MACHINE] * 1000 / runs, 1)


async def ceiling(plan: Plan, engine: Engine) -> dict[str, Any]:
    """Docker's raw create/start/wait/remove rate at the measured concurrency."""
    await engine.remove_ceiling_leftovers()
    tally = Tally()
    meter = CpuMeter(docker_daemons())
    for _ in range(plan.rate_rounds):
        await sustained(ceiling_run(engine), CONCURRENCY, plan, meter, tally)
    return {"runs_per_s": round(tally.runs_per_s, 2), "cpu_ms_per_run": tally.cpu_ms_per_run()}


async def one_mode(plan: Plan, engine: Engine, config: ServerConfig, bare_cpu: float) -> dict[str, Any]:
    result: dict[str, Any] = {"load_average": {}}
    used: set[str] = set()
    async with padbox_server(config) as server:
        await engine.wait_until_quiet(INSTANCE, POOL_FLOOR, used)
        before = load()
        result["one_client"] = summary(await back_to_back(server, plan.burst_runs))
        await engine.wait_until_quiet(INSTANCE, POOL_FLOOR, used)
        clients = await asyncio.gather(*(back_to_back(server, plan.burst_runs) for _ in range(4)))
        four = [s for client in clients for s in client]
        result["four_clients"] = summary(four)
        tally = Tally()
        meter = CpuMeter({**docker_daemons(), "server": server.pid})
        for _ in range(plan.rate_rounds):
            await engine.wait_until_quiet(INSTANCE, POOL_FLOOR, used)
            await sustained(padbox_run(server, used), CONCURRENCY, plan, meter, tally)
        result["load_average"] = [before, load()]
    cpu = tally.cpu_ms_per_run()
    result["runs_per_s"] = round(tally.runs_per_s, 2)
    result["cpu_ms_per_run"] = cpu
    result["cpu_ms_beyond_program"] = round(cpu.get(MACHINE, 0.0) - bare_cpu, 1)
    return result


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    bare, bare_cpu = await bare_cpu_ms(max(1, plan.burst_runs // 2))
    result: dict[str, Any] = {"modes": {}, "errors": {}}
    result["docker_ceiling"] = await ceiling(plan, engine)
    runtimes = await engine.runtimes()
    for isolation, runtime in MODES:
        name = f"{isolation} ({runtime or 'runc'})"
        if runtime and runtime not in runtimes:
            result["errors"][name] = f"the engine has no {runtime} runtime"
            continue
        mode_config = replace(config, pool_size=POOL_FLOOR, isolation=isolation, runtime=runtime)
        try:
            result["modes"][name] = await one_mode(plan, engine, mode_config, bare_cpu)
        except Exception as exc:  # noqa: BLE001 - one mode failing must not cost the others' numbers
            result["errors"][name] = f"{type(exc).__name__}: {exc}"
    after, after_cpu = await bare_cpu_ms(max(1, plan.burst_runs // 2))
    result["bare_process"] = {
        "before": bare,
        "after": after,
        "p50_ms": round((bare["p50_ms"] + after["p50_ms"]) / 2, 1),
        "cpu_ms_per_run": round((bare_cpu + after_cpu) / 2, 1),
    }
    ref, ceiling_rate = result["bare_process"]["p50_ms"], result["docker_ceiling"]["runs_per_s"]
    for mode in result["modes"].values():
        mode["ratios"] = {
            "one_client_p50": round(mode["one_client"]["p50_ms"] / ref, 2),
            "one_client_p90": round(mode["one_client"]["p90_ms"] / ref, 2),
            "four_clients_p50": round(mode["four_clients"]["p50_ms"] / ref, 2),
            "runs_per_s_vs_ceiling": round(mode["runs_per_s"] / ceiling_rate, 2) if ceiling_rate else None,
        }
    return result
