"""`python -m bench` (`make bench`): every measurement in one run on one machine, then results.json and results.md.

Sections run one after another, each against a fresh padbox server, so none sees another's leftovers.
A section that fails is recorded with its error and the others still run; the exit status says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import bursts, cluster, idle, isolation, latency, lsp, pads, questions, rate, throughput
from .docker_engine import Engine
from .machine import describe, revision
from .padbox_process import ServerConfig
from .plan import QUICK, Plan
from .report import markdown, targets

HERE = Path(__file__).resolve().parent
Section = Callable[[Plan, Engine, ServerConfig], Awaitable[Any]]
SECTIONS: dict[str, Section] = {
    "first_output": latency.measure,
    "runs_per_second": rate.measure,
    "output_throughput": throughput.measure,
    "idle_sessions": idle.measure,
    "gvisor": latency.measure_gvisor,
    "bursts": bursts.measure,
    "isolation": isolation.measure,
    "pads": pads.measure,
    "questions": questions.measure,
    "lsp": lsp.measure,
    "cluster": cluster.measure,
}


async def bench(plan: Plan, config: ServerConfig, only: list[str]) -> dict[str, Any]:
    engine = Engine()
    started = time.monotonic()
    try:
        results: dict[str, Any] = {
            "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": await describe(engine),
            "padbox_revision": revision(HERE.parent),
            "server_settings": config.recorded(),
            "plan": plan.as_dict(),
            "errors": {},
            "load_average": {},  # 1-minute load at each section's start and end: how busy the shared machine was
        }
        for name, measure in SECTIONS.items():
            if only and name not in only:
                continue
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            section_started, load_before = time.monotonic(), os.getloadavg()[0]
            try:
                results[name] = await measure(plan, engine, config)
            except Exception as exc:  # noqa: BLE001 - one broken section must not cost the others' numbers
                traceback.print_exc()
                results["errors"][name] = f"{type(exc).__name__}: {exc}"
            results["load_average"][name] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
            print(f"bench: {name} took {time.monotonic() - section_started:.0f} s", file=sys.stderr, flush=True)
    finally:
        await engine.close()
    results["duration_s"] = round(time.monotonic() - started)
    results["targets"] = [t.as_dict() for t in targets(results)]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few runs of each kind, to check the bench itself; prints the table and writes nothing",
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(SECTIONS), default=[], help="measure only this section (repeatable)"
    )
    args = parser.parse_args()
    plan = QUICK if args.quick else Plan()
    results = asyncio.run(bench(plan, ServerConfig(), args.only))
    table = markdown(results)
    print(table)
    if not args.quick and not args.only:
        (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (HERE / "results.md").write_text(table + "\n")
    for name, error in results["errors"].items():
        print(f"bench: {name} failed: {error}", file=sys.stderr)
    sys.exit(1 if results["errors"] else 0)


if __name__ == "__main__":
    main()
