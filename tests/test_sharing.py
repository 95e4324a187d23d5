"""Shared runs: joiners get a snapshot then live frames; drivers type, viewers watch; grace on leaving."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from padbox.client import Client, connect
from tests.client import connect_slow_reader
from tests.conftest import PRINT_HOST, ServerProcess, instance_name, run_processes, sandbox_gone, start_server
from tests.eventually import eventually

pytestmark = pytest.mark.docker

ASK = "name = input('name? ')\nprint('hello', name)\n"
GRACE_S = 2


@pytest.fixture(scope="module")
def share_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("share"),
        instance_name("pytest-share"),
        PADBOX_SHARE_GRACE_S=str(GRACE_S),
        PADBOX_POOL_SIZE="1",
    )
    yield srv
    srv.stop()


async def start_shared(client: Client, source: str = ASK, **run: object) -> tuple[str, str]:
    await client.run(language="python", source=source, **run)
    started = (await client.until(lambda f: f.type == "started")).message
    assert len(started["driver_key"]) >= 32 and len(started["viewer_key"]) >= 32, "at least 128 bits, URL-safe"
    return started["id"], started["driver_key"]


async def join(client: Client, run_id: str, key: str, role: str) -> dict[str, object]:
    await client.join(run_id, key, role)
    return (await client.until(lambda f: f.type in ("snapshot", "error"))).message


async def test_a_joining_driver_sees_the_prompt_and_answers_it(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as a, connect(share_server.ws_url) as b:
        starter, driver = Client(a), Client(b)
        run_id, key = await start_shared(starter)
        await starter.until_output("name? ")
        snapshot = await join(driver, run_id, key, "driver")
        assert snapshot["type"] == "snapshot" and snapshot["stage"] == "run" and snapshot["language"] == "python"
        assert snapshot["files"] == [{"name": "main.py", "content": ASK}]
        assert "name? " in "".join(f["data"] for f in snapshot["frames"] if f["type"] == "stdout")  # type: ignore
        presence = await starter.until(lambda f: f.type == "presence")
        assert presence.message == {"type": "presence", "drivers": 2, "viewers": 0}
        await driver.stdin("Grace\n")
        starter_t, driver_t = await asyncio.gather(starter.collect(), driver.collect())
    for t in (starter_t, driver_t):
        assert "hello Grace" in t.text() and t.verdict == "ok" and t.close_code == 1000


async def test_a_viewers_input_is_refused_and_never_reaches_the_program(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as a, connect(share_server.ws_url) as b:
        starter, viewer = Client(a), Client(b)
        run_id, key = await start_shared(starter)
        await starter.until_output("name? ")
        await join(viewer, run_id, key, "viewer")
        await viewer.stdin("intruder\n")
        refused = await viewer.until(lambda f: f.type == "error")
        assert refused.message["code"] == "bad_request" and "viewer" in refused.message["message"]
        # The refusal is the barrier: the server had decided on the intruder's input before answering it.
        await starter.stdin("owner\n")
        starter_t, viewer_t = await asyncio.gather(starter.collect(), viewer.collect())
    assert "hello owner" in starter_t.text() and "intruder" not in starter_t.text()
    assert "hello owner" in viewer_t.text() and viewer_t.close_code == 1000


async def test_the_viewer_key_watches_and_cannot_be_used_to_drive(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as a, connect(share_server.ws_url) as b, connect(share_server.ws_url) as c:
        starter, would_drive, viewer = Client(a), Client(b), Client(c)
        await starter.run(language="python", source=ASK)
        started = (await starter.until(lambda f: f.type == "started")).message
        assert started["viewer_key"] != started["driver_key"]
        refused = await join(would_drive, started["id"], started["viewer_key"], "driver")
        assert refused["code"] == "bad_request" and "not drive it" in refused["message"]
        await would_drive.collect(timeout=5)
        assert would_drive.transcript.close_code == 1008
        snapshot = await join(viewer, started["id"], started["viewer_key"], "viewer")
        assert snapshot["type"] == "snapshot" and snapshot["role"] == "viewer"
        assert snapshot["viewer_key"] == started["viewer_key"] and "driver_key" not in snapshot
        await starter.stdin("Ada\n")
        starter_t, viewer_t = await asyncio.gather(starter.collect(), viewer.collect())
    assert "hello Ada" in starter_t.text() and "hello Ada" in viewer_t.text()


async def test_wrong_key_and_unknown_id_get_the_same_error(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as a:
        starter = Client(a)
        run_id, key = await start_shared(starter)
        errors = []
        for probe_id, probe_key in ((run_id, key[:-1] + ("A" if key[-1] != "A" else "B")), ("0" * 16, key)):
            async with connect(share_server.ws_url) as b:
                joiner = Client(b)
                errors.append(await join(joiner, probe_id, probe_key, "driver"))
                await joiner.collect(timeout=5)
                assert joiner.transcript.close_code == 1008
        await starter.stdin("x\n")
        await starter.collect()
    assert errors[0] == errors[1] and errors[0]["code"] == "bad_request"


async def test_the_run_goes_on_when_the_starter_leaves_a_driver_behind(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as b:
        driver = Client(b)
        async with connect(share_server.ws_url) as a:
            starter = Client(a)
            run_id, key = await start_shared(starter)
            await starter.until_output("name? ")
            await join(driver, run_id, key, "driver")
        presence = await driver.until(lambda f: f.type == "presence" and f.message["drivers"] == 1)
        assert presence.message["viewers"] == 0  # the barrier: the server has handled the starter's leaving
        await driver.stdin("still here\n")
        t = await driver.collect()
    assert "hello still here" in t.text() and t.verdict == "ok"


async def test_last_driver_leaving_kills_the_run_after_the_grace(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as v:
        viewer = Client(v)
        async with connect(share_server.ws_url) as a, connect(share_server.ws_url) as b:
            starter, second = Client(a), Client(b)
            run_id, key = await start_shared(starter, PRINT_HOST + ASK)
            await join(second, run_id, key, "driver")
            await join(viewer, run_id, key, "viewer")
            host = (await starter.until(lambda f: f.type == "stdout")).message["data"].split()[0]
        left_at = time.monotonic()
        assert run_processes(host), "viewers alone keep it only for the grace period"
        t = await viewer.collect(timeout=GRACE_S + 10)
        assert t.verdict == "killed" and t.close_code == 1000, "the viewer sees the end and is closed normally"
        assert time.monotonic() - left_at >= GRACE_S - 1, "not before the grace period"
        await eventually(lambda: sandbox_gone(host), 10, "the killed run's sandbox gone")


async def test_a_driver_who_rejoins_within_the_grace_keeps_the_run(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as a:
        starter = Client(a)
        run_id, key = await start_shared(starter)
        async with connect(share_server.ws_url) as b:
            await join(Client(b), run_id, key, "driver")
    # both drivers are gone now; the run was shared, so it waits GRACE_S for a driver
    await asyncio.sleep(GRACE_S / 2)  # the scenario: back in the middle of the grace period
    async with connect(share_server.ws_url) as c:
        back = Client(c)
        snapshot = await join(back, run_id, key, "driver")
        assert snapshot["type"] == "snapshot"
        await asyncio.sleep(GRACE_S)  # the scenario: past the end the first grace period had, with no kill
        await back.stdin("returned\n")
        t = await back.collect()
    assert "hello returned" in t.text() and t.verdict == "ok"


async def test_a_participant_that_never_reads_does_not_delay_the_others(share_server: ServerProcess) -> None:
    flood = "import sys, time\nfor i in range(12000):\n    print(str(i % 10) * 2000, flush=True)\nprint('end')\n"
    async with connect(share_server.ws_url) as a, connect_slow_reader(share_server.ws_url) as s:
        starter, sleeper = Client(a), Client(s)
        await starter.run(language="python", source="input()\n" + flood, limits={"output_kb": 32768})
        started = (await starter.until(lambda f: f.type == "started")).message
        await join(sleeper, started["id"], started["viewer_key"], "viewer")
        # The sleeper reads nothing until the starter is done. Were frames held back for it, the starter
        # would wait forever (the sleeper's small kernel buffer fills after a few hundred KB): the test would hang.
        await starter.stdin("go\n")
        await starter.until_output("end", timeout=120)
        t = await starter.collect()
    assert t.verdict == "ok" and len(t.text()) > 24_000_000


async def test_in_pipe_mode_what_a_driver_types_is_shown_to_the_others(share_server: ServerProcess) -> None:
    async with connect(share_server.ws_url) as a, connect(share_server.ws_url) as b:
        starter, driver = Client(a), Client(b)
        run_id, key = await start_shared(starter)
        await starter.until_output("name? ")
        await join(driver, run_id, key, "driver")
        await driver.stdin("Ada\n")
        starter_t, driver_t = await asyncio.gather(starter.collect(), driver.collect())
    assert starter_t.of("input") == [{"type": "input", "data": "Ada\n"}]
    assert driver_t.of("input") == [], "the typist already sees what it typed"
