"""Tokens, the Origin allowlist and per-client caps, against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import websockets

from padbox.client import Client, connect, run_program
from tests.conftest import ServerProcess, instance_name, start_server

pytestmark = pytest.mark.docker

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("guarded"),
        instance_name("pytest-guarded"),
        PADBOX_TOKENS=f"other,{TOKEN}",
        PADBOX_MAX_SESSIONS_PER_CLIENT="1",
        PADBOX_POOL_SIZE="0",
    )
    yield srv
    srv.stop()


async def test_without_a_token_nothing_runs(guarded: ServerProcess) -> None:
    t = await run_program(guarded.ws_url, language="python", source="print(1)")
    assert t.error["code"] == "unauthorized" and "token" in t.error["message"]
    assert t.close_code == 1008 and not t.of("started")
    assert TOKEN not in guarded.log()


async def test_a_wrong_token_is_refused(guarded: ServerProcess) -> None:
    t = await run_program(guarded.ws_url + "?token=guess", language="python", source="print(1)")
    assert t.error["code"] == "unauthorized" and not t.of("started")


async def test_token_in_query_or_subprotocol_is_accepted(guarded: ServerProcess) -> None:
    t = await run_program(guarded.ws_url + f"?token={TOKEN}", language="python", source="print('in')")
    assert t.text() == "in\n"
    async with connect(guarded.ws_url, subprotocols=[websockets.Subprotocol(f"padbox.token.{TOKEN}")]) as ws:
        assert ws.subprotocol == f"padbox.token.{TOKEN}"
        client = Client(ws)
        await client.run(language="python", source="print('browser')")
        assert (await client.collect()).text() == "browser\n"
    assert TOKEN not in guarded.log(), "tokens are never logged"


async def test_a_second_concurrent_session_of_one_client_is_busy(guarded: ServerProcess) -> None:
    url = guarded.ws_url + f"?token={TOKEN}"
    async with connect(url) as first_ws:
        first = Client(first_ws)
        await first.run(language="python", source="import sys; sys.stdin.read()")
        await first.until(lambda f: f.type == "stage")
        t = await run_program(url, language="python", source="print(1)")
        assert t.error["code"] == "busy" and t.error["retry_after_s"] >= 1
        assert t.close_code == 1013
        await first.eof()
        assert (await first.collect()).verdict == "ok"
    again = await run_program(url, language="python", source="print('after')")
    assert again.text() == "after\n"


async def test_cross_site_browser_sockets_are_refused(server: ServerProcess) -> None:
    async with connect(server.ws_url, origin=websockets.Origin("https://evil.example")) as ws:
        client = Client(ws)
        await client.run(language="python", source="print(1)")
        t = await client.collect()
    assert t.error["code"] == "forbidden_origin" and "origin" in t.error["message"]
    async with connect(server.ws_url, origin=websockets.Origin(server.url)) as ws:
        client = Client(ws)
        await client.run(language="python", source="print('same origin')")
        assert (await client.collect()).text() == "same origin\n"
