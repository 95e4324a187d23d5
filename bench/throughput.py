"""Section 3: how fast one client receives a program's output, relayed through the agent, the server and the socket.

The rate is output characters (ASCII, so bytes) over the time from the first to the last output frame:
the sandbox's start-up is section 1's business. Measured twice: with permessage-deflate, which browsers
and the padbox CLI negotiate, so it is what a real client gets and what the target is checked against;
and without, to show what compression costs.
"""

from __future__ import annotations

import statistics
from typing import Any

from padbox.client import DEFLATE
from padbox.core.protocol import ServerType, Verdict

from .docker_engine import Engine
from .padbox_process import INSTANCE, ServerConfig, padbox_server
from .plan import Plan
from .runs import RunFailed, run_once

LINE = 100  # bytes per line, newline included
MB = 1_000_000
CLIENTS = {"deflate": DEFLATE, "uncompressed": None}


def loud_program(total_bytes: int) -> str:
    """Python that writes `total_bytes` of 100-byte lines to stdout in 1 MB writes."""
    lines_per_write = MB // LINE
    writes, rest = divmod(total_bytes, lines_per_write * LINE)
    if rest:
        raise ValueError("the output size must be a whole number of megabytes")
    return (
        "import sys\n"
        f"chunk = (b'x' * {LINE - 1} + b'\\n') * {lines_per_write}\n"
        f"for _ in range({writes}):\n"
        "    sys.stdout.buffer.write(chunk)\n"
    )


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    output_kb = -(-plan.output_bytes // 1024) + 1
    if output_kb > config.max_output_kb:
        raise ValueError("PADBOX_MAX_OUTPUT_KB is below the output the throughput run writes")
    source = loud_program(plan.output_bytes)
    runs: dict[str, list[float]] = {name: [] for name in CLIENTS}
    used: set[str] = set()
    async with padbox_server(config) as server:
        for _ in range(plan.output_repeats):
            for name, compression in CLIENTS.items():  # in turns, so noise falls on both
                await engine.wait_until_quiet(INSTANCE, config.pool_size, used)
                t = await run_once(server.ws_url, source, compression, limits={"output_kb": output_kb})
                used.add(t.run_id or "")
                received = len(t.text())
                first, last = t.first(ServerType.STDOUT), t.last(ServerType.STDOUT)
                if t.verdict != Verdict.OK or received != plan.output_bytes or first is None or last is None:
                    raise RunFailed(f"expected {plan.output_bytes} bytes and `ok`, got {received} and {t.verdict}")
                runs[name].append(round(plan.output_bytes / (last.at - first.at) / MB, 1))
        peak = server.memory().peak_rss_bytes
    return {
        "bytes": plan.output_bytes,
        "server_peak_rss_mb": round(peak / MB, 1),
        **{
            name: {"median_mb_per_s": statistics.median(values), "runs_mb_per_s": values}
            for name, values in runs.items()
        },
    }
