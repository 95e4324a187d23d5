"""Section: questions. "Run tests" with 10 cases of a Python solution against 10 single runs one after another.

A pad holds the solution (read a number, print its square) and 10 cases of its own (the Tests panel's, in the
document), so no operator token is needed. In each round, alternately:

- **Run tests**: `run_tests` on the pad's events socket, timed from sending it to the last case's result (and to
  `test_run_finished`). The cases run as the server runs them: each its own run in its own sandbox,
  PADBOX_TESTS_PARALLEL at once.
- **10 single runs**: the same program with each case's stdin, one after another, each on a socket of its own
  (`run` to `exit`, the protocol only), and their sum.

The goal: a test run of 10 cases in at most twice one single run's time. The server's per-client caps are raised
(ServerConfig), so neither side measures the caps. The first round warms the caches and is not counted.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import AsyncExitStack
from typing import Any

from pycrdt import Map

from padbox.config import Settings
from padbox.core.protocol import ServerType
from padbox_dev.pad_client import Events, YClient, replace

from .docker_engine import Engine
from .padbox_process import INSTANCE, PadboxProcess, ServerConfig, padbox_server
from .pads import create_pad, ws_base
from .plan import Plan
from .runs import RunFailed, run_once
from .stats import Latency, percentile

CASES = 10
SOLUTION = "n = int(input())\nprint(n * n)\n"  # one line: a single run over /ws needs no end of input


def case_of(i: int) -> dict[str, str]:
    return {"name": f"square {i}", "stdin": f"{i}\n", "expected": f"{i * i}\n"}


async def prepare(server: PadboxProcess, stack: AsyncExitStack) -> tuple[dict[str, Any], Events]:
    """A pad with the solution and its 10 cases, and an editor's events socket on it."""
    pad = await asyncio.to_thread(create_pad, server)
    peer = await stack.enter_async_context(
        await YClient.connect(ws_base(server), pad["id"], pad["keys"]["edit"], "bench")
    )
    async with asyncio.timeout(30):
        await peer.synced.wait()
    solution = replace(str(peer.meta()["entry"]), SOLUTION)

    def write(doc: Any) -> None:
        solution(doc)
        tests = doc.get("tests", type=Map)
        for i in range(CASES):
            tests[f"{i:03d}"] = Map(case_of(i))

    await peer.edit(write)
    await peer.roundtrip()
    events = await Events.connect(ws_base(server), pad["id"], pad["keys"]["edit"], "bench")
    stack.push_async_callback(events.close)
    await events.next_of("pad")
    return pad, events


async def test_run(events: Events, cpu_ms: list[float]) -> tuple[float, float]:
    """(seconds to the last case's result, to test_run_finished) for one Run tests; each case's CPU time (the
    program's, as its result tells it) added to `cpu_ms`."""
    started = time.perf_counter()
    await events.send({"type": "run_tests"})
    await events.next_of("test_run")
    last = 0.0
    for _ in range(CASES):
        result = (await events.next_of("test_case", timeout=120))["result"]
        last = time.perf_counter() - started
        if not result["passed"]:
            raise RunFailed(f"a case failed: {result}")
        cpu_ms.append(result["cpu_ms"])
    finished = await events.next_of("test_run_finished", timeout=60)
    if finished["passed"] != CASES:
        raise RunFailed(f"the test run did not pass: {finished}")
    return last, time.perf_counter() - started


async def single_runs(server: PadboxProcess) -> list[float]:
    """Each case's input as a run of its own, one after another: `run` to `exit`, each."""
    times = []
    for i in range(CASES):
        t = await run_once(server.ws_url, SOLUTION, stdin=case_of(i)["stdin"])
        exited = t.first(ServerType.EXIT)
        if exited is None or t.verdict != "ok":
            raise RunFailed(f"a single run did not finish cleanly: {t.frames}")
        times.append(exited.at)
    return times


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    last_result: list[float] = []
    finished: list[float] = []
    single: list[float] = []
    serial: list[float] = []
    cpu_ms: list[float] = []
    async with padbox_server(config) as server, AsyncExitStack() as stack:
        await engine.wait_until_quiet(INSTANCE, config.pool_size, ())
        _, events = await prepare(server, stack)
        for round_number in range(1 + plan.question_rounds):
            case_cpu_ms: list[float] = []
            to_last, to_finished = await test_run(events, case_cpu_ms)
            runs = await single_runs(server)
            if round_number == 0:
                continue  # cold caches
            last_result.append(to_last)
            finished.append(to_finished)
            single.extend(runs)
            serial.append(sum(runs))
            cpu_ms.extend(case_cpu_ms)
    one_run = Latency.of(single).as_dict()
    test_runs = Latency.of(last_result).as_dict()
    return {
        "cases": CASES,
        "rounds": plan.question_rounds,
        "parallel": Settings.from_env(config.recorded()).tests_parallel,
        "test_run_to_last_result": test_runs,
        "test_run_to_finished": Latency.of(finished).as_dict(),
        "single_run": one_run,
        "ten_single_runs_in_turn": Latency.of(serial).as_dict(),
        "ratio_to_one_run_p50": round(test_runs["p50_ms"] / one_run["p50_ms"], 2),
        "case_cpu_ms_p50": round(percentile(cpu_ms, 50), 1),
        "cpus": os.cpu_count() or 1,
    }
