"""Overload stays orderly: 64 clients start runs as fast as they can against a server with 8 slots and a queue
of 16. Every attempt ends one of three ways: a run (`started`, output, `exit`), `queued` frames then a run,
or `busy` with `retry_after_s`. The server's memory stays bounded and no container outlives the test.

The issue asks for 60 s of this; the suite runs 15 s, which already holds hundreds of attempts of each kind
(the queue fills and empties many times over). `PADBOX_OVERLOAD_S=60 pytest tests/test_overload.py` runs the
full minute.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from padbox.client import Transcript, run_program
from tests.conftest import docker_containers, instance_name, start_server
from tests.eventually import eventually

pytestmark = pytest.mark.docker

CLIENTS = 64
DURATION_S = float(os.environ.get("PADBOX_OVERLOAD_S", "15"))
SLOTS, QUEUE = 8, 16
# Growth of the server's resident memory allowed over the whole test: a leak per attempt (a few KB times
# thousands of attempts) passes it; 64 sockets, 24 sessions and their buffers do not come near it.
RSS_GROWTH_LIMIT = 80 << 20


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def classify(t: Transcript) -> str:
    """How one attempt ended; anything outside the three orderly endings fails the test with its frames."""
    kinds = [f.type for f in t.frames]
    if "error" in kinds:
        error = t.error
        assert error["code"] == "busy" and error["retry_after_s"] > 0, t.frames
        assert "started" not in kinds, t.frames
        return "busy"
    assert t.text() == "hi\n" and t.verdict == "ok", t.frames
    started = kinds.index("started")
    assert all(k == "queued" for k in kinds[:started]), t.frames
    return "queued then ran" if started else "ran"


async def test_64_clients_as_fast_as_they_can_each_get_a_run_a_queued_run_or_busy(
    tmp_path: Path,
) -> None:
    instance = instance_name("pytest-overload")
    server = start_server(
        tmp_path,
        instance,
        PADBOX_MAX_SESSIONS=str(SLOTS),
        PADBOX_QUEUE_LIMIT=str(QUEUE),
        PADBOX_POOL_SIZE="2",
        PADBOX_MAX_SESSIONS_PER_CLIENT=str(CLIENTS * 2),
        PADBOX_SESSIONS_PER_MINUTE="1000000",
    )
    try:
        outcomes: Counter[str] = Counter()
        rss = [rss_bytes(server.process.pid)]
        deadline = time.monotonic() + DURATION_S

        async def client() -> None:
            while time.monotonic() < deadline:
                t = await run_program(server.ws_url, language="python", source="print('hi')", timeout=120)
                outcomes[classify(t)] += 1

        async def watch_memory() -> None:
            while time.monotonic() < deadline:
                await asyncio.sleep(1)  # the sampling pace
                rss.append(rss_bytes(server.process.pid))

        await asyncio.gather(watch_memory(), *(client() for _ in range(CLIENTS)))
        assert outcomes["ran"] + outcomes["queued then ran"] > 0 and outcomes["queued then ran"] > 0, outcomes
        assert outcomes["busy"] > 0, outcomes  # 64 clients against 8 slots and a queue of 16
        assert max(rss) - rss[0] < RSS_GROWTH_LIMIT, f"server memory grew {(max(rss) - rss[0]) >> 20} MB"
        # The runs' removals finish after their clients have their answers.
        await eventually(lambda: len(docker_containers(instance)) <= 2, 30, "only the warm pool's floor left")
    finally:
        server.stop()
    assert docker_containers(instance) == [], "no container outlives the server"
    print(f"overload {DURATION_S:g} s: {dict(outcomes)}; server RSS {rss[0] >> 20} -> max {max(rss) >> 20} MB")
