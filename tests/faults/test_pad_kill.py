"""The server SIGKILLed in the middle of pad edits: every edit another participant had received before the
kill is in the pad after a restart (an update is relayed only once it is committed), and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import pytest

from tests.conftest import instance_name, start_server
from tests.pads_client import YClient, append, http

pytestmark = pytest.mark.docker


async def test_every_edit_a_participant_received_survives_a_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    instance = instance_name("faults-pad-kill")
    server = start_server(tmp_path, instance, PADBOX_DATA_DIR=str(data), PADBOX_POOL_SIZE="0")
    status, pad = http("POST", f"{server.url}/api/v1/pads", {"files": [{"name": "log.txt", "content": ""}]})
    assert status == 201
    base = f"ws://127.0.0.1:{server.port}"
    writer = await YClient.connect(base, pad["id"], pad["keys"]["edit"], "writer")
    reader = await YClient.connect(base, pad["id"], pad["keys"]["view"], "reader")
    for client in (writer, reader):
        async with asyncio.timeout(5):
            await client.synced.wait()

    async def type_lines() -> None:
        for n in range(100000):
            await writer.edit(append("log.txt", f"{n}\n"))
            await asyncio.sleep(0.002)  # the typist's pace

    typing = asyncio.create_task(type_lines())
    await reader.wait_for(lambda: reader.files()["log.txt"].count("\n") >= 200, timeout=30)
    server.process.send_signal(signal.SIGKILL)  # mid-stream: no shutdown code runs
    server.process.wait(10)
    received = reader.files()["log.txt"]
    typing.cancel()
    with contextlib.suppress(BaseException):
        await typing
    for client in (writer, reader):
        await client.close()

    again = start_server(tmp_path, instance, PADBOX_DATA_DIR=str(data), PADBOX_POOL_SIZE="0")
    try:
        after = await YClient.connect(f"ws://127.0.0.1:{again.port}", pad["id"], pad["keys"]["view"])
        async with asyncio.timeout(5):
            await after.synced.wait()
        kept = after.files()["log.txt"]
        assert kept.startswith(received), "every edit the reader had received is in the pad"
        lines = kept.splitlines()
        assert lines == [str(n) for n in range(len(lines))], "in order, none lost in between, none invented"
        await after.close()
    finally:
        again.stop()
