"""A pad's language server killed or frozen mid-session: it comes back by itself, every participant sees
`restarting` then `ready`, the pad's edits never wait for it, and no container is left behind."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess, instance_name, start_server
from tests.eventually import eventually
from tests.faults.conftest import record
from tests.pads_client import LspClient, YClient, append, http

pytestmark = pytest.mark.docker

DEADLINE_S = 4
TEXT = "import os\nos.pa\n"


@pytest.fixture(scope="module")
def lsp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("lsp-faults"),
        instance_name("faults-lsp"),
        PADBOX_POOL_SIZE="0",
        PADBOX_LSP_IDLE_S="1",
        PADBOX_LSP_DEADLINE_S=str(DEADLINE_S),
    )
    yield srv
    srv.stop()
    assert not srv.containers(), "containers outlived the server"


def language_server(pad_id: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=padbox.session=lsp-{pad_id}", "--filter", "label=padbox.lsp"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


async def started(server: ServerProcess) -> tuple[dict[str, Any], LspClient, LspClient, str]:
    status, pad = http(
        "POST", f"{server.url}/api/v1/pads", {"language": "python", "files": [{"name": "main.py", "content": TEXT}]}
    )
    assert status == 201
    base = f"ws://127.0.0.1:{server.port}"
    editor = await LspClient.connect(base, pad["id"], pad["keys"]["edit"], "editor")
    viewer = await LspClient.connect(base, pad["id"], pad["keys"]["view"], "viewer")
    await completion_works(editor)
    (container,) = language_server(pad["id"])
    return pad, editor, viewer, container


async def completion_works(client: LspClient) -> None:
    async def has_path() -> bool:
        answer = await client.ask("textDocument/completion", "main.py", TEXT, 1, 5)
        items = answer.get("result") or {}
        return "path" in [item["label"] for item in items.get("items", [])]

    await eventually(has_path, 60, "os.pa completes to path")


async def comes_back(server: ServerProcess, fault: str, pad: dict[str, Any], clients: list[LspClient]) -> None:
    """Both participants see `restarting` then `ready`, completion works again in a new container, and an edit
    made meanwhile reached the other participant as usual."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    base = f"ws://127.0.0.1:{server.port}"
    async with (
        await YClient.connect(base, pad["id"], pad["keys"]["edit"], "a") as a,
        await YClient.connect(base, pad["id"], pad["keys"]["view"], "b") as b,
    ):
        await a.synced.wait()
        await a.edit(append("notes.txt", "still editing\n"))
        await b.wait_for(lambda: b.files().get("notes.txt") == "still editing\n")
    for client in clients:
        await client.wait_for(lambda c=client: "ready" in after_restarting(c), timeout=DEADLINE_S + 30)
    record(f"language server {fault}", "ready again (s)", loop.time() - began)
    await completion_works(clients[0])


def after_restarting(client: LspClient) -> list[str]:
    """The states seen since the last `restarting` (none if there was none)."""
    states = client.states()
    if "restarting" not in states:
        return []
    last = len(states) - 1 - states[::-1].index("restarting")
    return states[last:]


async def test_a_killed_language_server_comes_back_and_everyone_sees_it(lsp_server: ServerProcess) -> None:
    pad, editor, viewer, container = await started(lsp_server)
    try:
        subprocess.run(["docker", "kill", container], check=True, capture_output=True)
        await comes_back(lsp_server, "killed", pad, [editor, viewer])
        (again,) = language_server(pad["id"])
        assert again != container
    finally:
        await editor.close()
        await viewer.close()
    took = await eventually(lambda: not language_server(pad["id"]), 30, "the idle server's container removed")
    record("language server killed", "idle server reaped after its sockets closed (s)", took)


async def test_a_frozen_language_server_is_judged_hung_and_restarted(lsp_server: ServerProcess) -> None:
    pad, editor, viewer, container = await started(lsp_server)
    try:
        subprocess.run(["docker", "pause", container], check=True, capture_output=True)
        # The request that finds it frozen is answered (empty) by the deadline; the server is then replaced.
        answer = await editor.ask("textDocument/completion", "main.py", TEXT, 1, 5, timeout=DEADLINE_S + 20)
        assert answer["result"] == {"isIncomplete": True, "items": []}
        await comes_back(lsp_server, "frozen", pad, [editor, viewer])
        assert container not in language_server(pad["id"])
    finally:
        await editor.close()
        await viewer.close()
    await eventually(lambda: not language_server(pad["id"]), 30, "the idle server's container removed")
