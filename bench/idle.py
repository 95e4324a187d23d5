"""Section 4: many interactive sessions whose programs wait on stdin, and what they cost the server process.

Memory is the server's resident set (VmRSS) once a level is reached and has settled; per session is the
growth over the same server with no session open, divided by the sessions. The containers' own memory is
the kernel's, not the server's, and is not part of the target.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from typing import Any

from padbox.client import Client, ClosedEarly, connect
from padbox.core.protocol import ServerType

from .docker_engine import Engine
from .padbox_process import INSTANCE, PadboxProcess, ServerConfig, padbox_server
from .plan import Plan
from .runs import RunFailed, check

WAITING_PROGRAM = "import sys\nprint('ready')\nsys.stdin.readline()\n"
OPENING_AT_ONCE = 8  # sessions being opened concurrently (each may need a cold container)
SETTLE_S = 2.0
# Long enough for every session to outlive the whole section (the default run limit is 30 s).
IDLE_RUN_TIMEOUT_S = 600  # let the server's garbage and Docker's replies settle before reading memory
MB = 1_000_000


async def open_waiting(stack: AsyncExitStack, server: PadboxProcess, gate: asyncio.Semaphore) -> Client:
    """A session whose program has printed and now waits on stdin; the socket stays open in `stack`."""
    async with gate:
        client = Client(await stack.enter_async_context(connect(server.ws_url)))
        await client.run(language="python", source=WAITING_PROGRAM, limits={"run_timeout_s": IDLE_RUN_TIMEOUT_S})
        try:
            await client.until(lambda f: f.type == ServerType.STDOUT, timeout=None)
        except ClosedEarly:
            check(client.transcript)
            raise RunFailed("an interactive session ended before its program waited for input") from None
    return client


async def finish(client: Client) -> None:
    """End the program the polite way (end of input) and read to the server's close."""
    await client.eof()
    check(await client.collect(timeout=None))


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    if max(plan.idle_levels) + config.pool_size > config.max_sessions:
        raise ValueError("PADBOX_MAX_SESSIONS must leave room for the most idle sessions plus the pool")
    levels: list[dict[str, Any]] = []
    async with padbox_server(config) as server:
        await engine.wait_until_quiet(INSTANCE, config.pool_size, ())
        await asyncio.sleep(SETTLE_S)
        baseline = server.memory().rss_bytes
        gate = asyncio.Semaphore(OPENING_AT_ONCE)
        sockets: list[Client] = []
        async with AsyncExitStack() as stack:
            for level in plan.idle_levels:
                more = level - len(sockets)
                opening = time.perf_counter()
                sockets += await asyncio.gather(*(open_waiting(stack, server, gate) for _ in range(more)))
                opened_s = time.perf_counter() - opening
                await asyncio.sleep(SETTLE_S)
                server.alive()
                if ended := sum(1 for client in sockets if client.ws.close_code is not None):
                    raise RunFailed(f"{ended} interactive sessions ended while they should have been waiting")
                rss = server.memory().rss_bytes
                levels.append(
                    {
                        "sessions": level,
                        "server_rss_mb": round(rss / MB, 1),
                        "per_session_kb": round((rss - baseline) / level / 1000, 1),
                        "opened_per_s": round(more / opened_s, 1),
                    }
                )
            await asyncio.gather(*(finish(client) for client in sockets))
        peak = server.memory().peak_rss_bytes
    return {"baseline_rss_mb": round(baseline / MB, 1), "peak_rss_mb": round(peak / MB, 1), "levels": levels}
