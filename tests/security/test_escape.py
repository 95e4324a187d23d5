"""Escaping the kill: trapped signals, setsid, a double-forked daemon, a re-forking phoenix and zombies.
Nothing survives the end of the run; on the host nothing of it remains either."""

from __future__ import annotations

import secrets

import pytest

from padbox.client import Client, connect
from tests.eventually import eventually
from tests.security.target import GVISOR, SLACK_S, Target, host_processes_matching, program, stage_wall_s

pytestmark = pytest.mark.docker


async def test_daemons_and_zombies_do_not_outlive_the_run(target: Target) -> None:
    name = f"padbox-survivor-{secrets.token_hex(6)}"
    t = await target.run("python", program("daemons.py"), args=[name], limits={"run_timeout_s": 10, "pids": 128})
    assert t.text() == "planted\n"
    assert t.verdict == "ok", "the program itself exited 0"
    assert stage_wall_s(t) < 2 + SLACK_S, "the run ends when the program does; what it left behind is killed"
    await target.survived(t)
    assert host_processes_matching(name) == [], "a process of the run is still alive on the host"


async def test_a_program_that_fills_the_pids_limit_with_zombies_still_ends(target: Target) -> None:
    source = (
        "import os, time\nzombies = 0\n"
        "while True:\n"
        "    try:\n        pid = os.fork()\n    except BlockingIOError:\n        break\n"
        "    if pid == 0:\n        os._exit(0)\n    zombies += 1\n"
        "print('zombies', zombies, flush=True)\ntime.sleep(600)\n"
    )
    t = await target.run("python", source, limits={"run_timeout_s": 3, "pids": 32})
    if not GVISOR:  # under gVisor forking is slow and only the sandbox's host threads are limited
        assert t.text().startswith("zombies ")
    assert t.verdict == "timeout" and stage_wall_s(t) < 3 + SLACK_S
    await target.survived(t)


async def test_a_daemon_survives_neither_sigkill_from_the_client_nor_a_closed_socket(target: Target) -> None:
    name = f"padbox-survivor-{secrets.token_hex(6)}"
    source = program("daemons.py") + "import time\ntime.sleep(600)\n"
    async with connect(target.ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source=source, args=[name], limits={"pids": 128})
        await client.until_output("planted")
        if not GVISOR:  # control: under runc the sandbox's processes are host processes, so the check can see
            await eventually(lambda: len(host_processes_matching(name)) >= 3, 5, "the survivors started")
    # The client just went away, mid-run.
    assert not await target.containers_gone(), "the abandoned session's container remained"
    assert host_processes_matching(name) == []
    await target.survived(client.transcript)
