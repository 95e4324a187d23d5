"""A pad's language server killed or frozen mid-session: it comes back by itself, every participant sees
`restarting` then `ready`, the pad's edits never wait for it, and no container is left behind."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, docker_containers, instance_name, require_lsp_image, start_server
from tests.eventually import eventually
from tests.faults.conftest import record
from tests.pads_client import LspClient, YClient, append, http

pytestmark = pytest.mark.docker

DEADLINE_S = 4
TEXT = "import os\nos.pa\n"


@pytest.fixture(scope="module")
def lsp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_lsp_image()
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


async def test_language_servers_stop_with_the_server_and_a_killed_servers_are_reaped_at_restart(
    tmp_path: Path,
) -> None:
    require_lsp_image()
    instance = instance_name("faults-lsp-leftovers")
    data = str(tmp_path / "data")
    for how in (signal.SIGTERM, signal.SIGKILL):
        server = start_server(tmp_path, instance, PADBOX_POOL_SIZE="0", PADBOX_DATA_DIR=data)
        pad, editor, viewer, container = await started(server)
        server.stop(how)
        for client in (editor, viewer):
            assert await client.closed(10) in (1001, 1006, 1012)
        if how == signal.SIGTERM:  # a clean stop removes its language servers itself
            assert not docker_containers(instance), "a language server outlived its server's shutdown"
    # The SIGKILLed server's language server is still there (its attach gone, it may be exiting by itself); the next
    # server of the instance reaps whatever is left at start-up.
    again = start_server(tmp_path, instance, PADBOX_POOL_SIZE="0", PADBOX_DATA_DIR=data)
    try:
        await eventually(lambda: not docker_containers(instance), 30, "the killed server's language server reaped")
    finally:
        again.stop()


async def test_a_server_past_its_memory_limit_is_restarted_then_given_up_as_unavailable(tmp_path: Path) -> None:
    """pylsp in a 40 MB sandbox: killed by the kernel as soon as jedi loads the standard library. Each death is
    reported as memory, with a restart; after five in a row the pad's help is `unavailable`, and the pad works."""
    require_lsp_image()
    server = start_server(tmp_path, instance_name("faults-lsp-oom"), PADBOX_POOL_SIZE="0", PADBOX_LSP_MEMORY_MB="40")
    try:
        status, pad = http(
            "POST", f"{server.url}/api/v1/pads", {"language": "python", "files": [{"name": "main.py", "content": TEXT}]}
        )
        assert status == 201
        base = f"ws://127.0.0.1:{server.port}"
        async with await LspClient.connect(base, pad["id"], pad["keys"]["edit"]) as client:

            async def asks_until_unavailable() -> bool:
                answer = await client.ask("textDocument/completion", "main.py", TEXT, 1, 5, timeout=60)
                return answer.get("error", {}).get("code") == -32003

            await eventually(asks_until_unavailable, 120, "language help given up as unavailable")
            messages = [n["params"]["message"] for n in client.notifications if n["method"] == "padbox/state"]
            assert any("ran out of memory" in m for m in messages), messages
            assert client.states().count("restarting") >= 4
            async with await YClient.connect(base, pad["id"], pad["keys"]["edit"], "a") as peer:
                await peer.synced.wait()
                await peer.edit(append("main.py", "# still editing\n"))
                await peer.roundtrip()
    finally:
        server.stop()
    assert not docker_containers(server.instance)
