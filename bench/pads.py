"""Section: collaborative pads. Edit propagation between raw Yjs peers, and what open pads cost the server.

- **Edit propagation**: N participants (2, 8, 32) on one pad with the edit key; in turns, one of them appends a
  short marker to the pad's file and the time until each other participant's document holds it is one sample
  (one client to another through the server, which stores the update in SQLite before it relays it). Rounds
  are spaced out, so this is latency, not throughput: at most one edit is in flight.
- **Memory**: the server's VmRSS with no pad open, then with `pads` pads of one participant each, then with
  `participants_per_pad` on each. A participant is what the page opens: a Yjs socket and an events socket.
  Per pad = growth to the first level over the pads, less one participant; per participant = growth between
  the levels over the participants added.

Every peer runs in this process, so with 32 participants the bench itself decodes 31 copies of each update;
the figures include that.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from typing import Any

import httpx

from padbox_dev.pad_client import Events, YClient, append

from .docker_engine import Engine
from .padbox_process import INSTANCE, PadboxProcess, ServerConfig, padbox_server
from .plan import Plan
from .stats import percentile

FILE = "main.py"
ROUND_PAUSE_S = 0.02  # between rounds: the previous edit has reached everyone, the next one starts fresh
SETTLE_S = 2.0
CONNECTING_AT_ONCE = 8
KB = 1000


def create_pad(server: PadboxProcess) -> dict[str, Any]:
    """A new pad through the API; its id and keys."""
    return create_pad_at(f"http://127.0.0.1:{server.port}")


def create_pad_at(base_url: str) -> dict[str, Any]:
    """A new pad through the API at `base_url` (a server, or a cluster's front)."""
    answer = httpx.post(f"{base_url}/api/v1/pads", json={"language": "python", "title": "bench"}, timeout=30)
    pad: dict[str, Any] = answer.raise_for_status().json()
    return pad


def ws_base(server: PadboxProcess) -> str:
    return f"ws://127.0.0.1:{server.port}"


async def join(stack: AsyncExitStack, server: PadboxProcess, pad: dict[str, Any], name: str) -> YClient:
    """A synced editor whose socket stays open until `stack` closes."""
    peer = await stack.enter_async_context(await YClient.connect(ws_base(server), pad["id"], pad["keys"]["edit"], name))
    async with asyncio.timeout(30):
        await peer.synced.wait()
    return peer


async def arrival(peer: YClient, marker: str, sent_at: float) -> float:
    """Seconds from `sent_at` until `marker` is in this peer's copy of the file."""
    await peer.wait_for(lambda: marker in peer.files().get(FILE, ""), timeout=30)
    return time.perf_counter() - sent_at


async def propagation(
    server: PadboxProcess, participants: int, rounds: int, pad: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Each round one participant edits (in turns) and every other one's arrival time is a sample; on a new pad
    unless one is given (section `lsp` gives one whose language server runs)."""
    if pad is None:
        pad = await asyncio.to_thread(create_pad, server)
    samples: list[float] = []
    last: list[float] = []  # per round: until the last participant had it
    async with AsyncExitStack() as stack:
        peers = [await join(stack, server, pad, f"p{i}") for i in range(participants)]
        for round_no in range(rounds):
            sender = peers[round_no % participants]
            others = [peer for peer in peers if peer is not sender]
            marker = f"<{round_no}>"
            sent_at = time.perf_counter()
            waits = [asyncio.create_task(arrival(peer, marker, sent_at)) for peer in others]
            await sender.edit(append(FILE, marker))
            times = await asyncio.gather(*waits)
            samples += times
            last.append(max(times))
            await asyncio.sleep(ROUND_PAUSE_S)
    ms = [s * 1000 for s in samples]
    return {
        "participants": participants,
        "edits": rounds,
        "samples": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "everyone_p50_ms": round(percentile([s * 1000 for s in last], 50), 2),
    }


async def participant(
    stack: AsyncExitStack, server: PadboxProcess, pad: dict[str, Any], gate: asyncio.Semaphore
) -> None:
    """What one open page holds: a synced Yjs socket and an events socket."""
    async with gate:
        await join(stack, server, pad, "m")
        events = await Events.connect(ws_base(server), pad["id"], pad["keys"]["edit"], "m")
        stack.push_async_callback(events.close)


async def settled_rss(server: PadboxProcess) -> int:
    await asyncio.sleep(SETTLE_S)
    server.alive()
    return server.memory().rss_bytes


async def memory(server: PadboxProcess, pads: int, per_pad: int) -> dict[str, Any]:
    """Server memory with no pad, with `pads` pads of one participant, then of `per_pad` participants each."""
    baseline = await settled_rss(server)
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    created = [await asyncio.to_thread(create_pad, server) for _ in range(pads)]
    async with AsyncExitStack() as stack:
        await asyncio.gather(*(participant(stack, server, pad, gate) for pad in created))
        one_each = await settled_rss(server)
        more = [pad for pad in created for _ in range(per_pad - 1)]
        await asyncio.gather(*(participant(stack, server, pad, gate) for pad in more))
        full = await settled_rss(server)
    per_participant = (full - one_each) / len(more)
    return {
        "pads": pads,
        "participants_per_pad": per_pad,
        "baseline_rss_mb": round(baseline / 1e6, 1),
        "one_participant_each_rss_mb": round(one_each / 1e6, 1),
        "all_participants_rss_mb": round(full / 1e6, 1),
        "per_participant_kb": round(per_participant / KB, 1),
        "per_pad_kb": round(((one_each - baseline) / pads - per_participant) / KB, 1),
    }


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    async with padbox_server(config) as server:
        await engine.wait_until_quiet(INSTANCE, config.pool_size, ())
        # Memory first, on a server that has not yet freed anything it could reuse (that would hide growth).
        used = await memory(server, plan.pad_memory_pads, plan.pad_memory_participants)
        propagation_rows = [await propagation(server, n, plan.pad_edit_rounds) for n in plan.pad_participants]
    return {"propagation": propagation_rows, "memory": used}
