"""Language help in pads against a real server, real language servers in padbox-lsp:latest, and raw clients: the
language-help socket (JSON-RPC), Yjs peers typing, the HTTP switch, and the containers Docker shows."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from tests.conftest import ServerProcess, instance_name, require_lsp_image, start_server
from tests.eventually import eventually
from tests.pads_client import Events, LspClient, YClient, http, replace, ws_base

pytestmark = pytest.mark.docker

IDLE_S = 1.5


@pytest.fixture(scope="module")
def lsp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_lsp_image()
    srv = start_server(
        tmp_path_factory.mktemp("lsp"),
        instance_name("pytest-lsp"),
        PADBOX_POOL_SIZE="0",
        PADBOX_LSP_MAX="3",
        PADBOX_LSP_IDLE_S=str(IDLE_S),
        PADBOX_SESSIONS_PER_MINUTE="100000",
    )
    yield srv
    srv.stop()


def language_servers(instance: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=padbox.instance={instance}", "--filter", "label=padbox.lsp"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.fixture(autouse=True)
async def servers_stopped_after(lsp_server: ServerProcess) -> Any:
    """Each test starts with no language server running (PADBOX_LSP_MAX is small), and leaves none behind once its
    sockets are closed and the idle time has passed."""
    yield
    await eventually(lambda: not language_servers(lsp_server.instance), IDLE_S + 30, "every language server stopped")


def new_pad(server: ServerProcess, language: str, files: dict[str, str]) -> dict[str, Any]:
    body = {"language": language, "files": [{"name": n, "content": c} for n, c in files.items()]}
    status, pad = http("POST", f"{server.url}/api/v1/pads", body)
    assert status == 201, pad
    return pad


async def help_for(server: ServerProcess, pad: dict[str, Any], role: str = "edit") -> LspClient:
    return await LspClient.connect(ws_base(server), pad["id"], pad["keys"][role], role)


def labels_of(pad_id: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=padbox.session=lsp-{pad_id}", "--filter", "label=padbox.lsp"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def labels(items: Any) -> list[str]:
    """Completion labels without clangd's decorations (a leading bullet or space, the `(…)` of a function)."""
    found = items["items"] if isinstance(items, dict) else items
    return [item["label"].strip(" •").split("(")[0] for item in found]


def last_state(client: LspClient) -> dict[str, Any]:
    return [n["params"] for n in client.notifications if n["method"] == "padbox/state"][-1]


def diagnostic_lines(client: LspClient, file: str) -> set[int]:
    return {d["range"]["start"]["line"] for d in client.diagnostics(file) or []}


async def completes(client: LspClient, file: str, text: str, line: int, character: int, wanted: str) -> list[str]:
    """Completion labels at a position; retried while the server is still loading (the first answer of a server
    may come before it has read its headers), until `wanted` is among them."""
    found: list[str] = []

    async def has_it() -> bool:
        nonlocal found
        answer = await client.ask("textDocument/completion", file, text, line, character)
        found = labels(answer["result"])
        return wanted in found

    await eventually(has_it, 60, f"{wanted!r} among the completions")
    return found


PY_MAIN = "import os\nimport util\n\nprint(util.helper())\nos.pa\n"
PY_UTIL = "def helper():\n    return 42\n"


async def test_python_completes_diagnoses_and_goes_to_another_files_definition(lsp_server: ServerProcess) -> None:
    pad = new_pad(lsp_server, "python", {"main.py": PY_MAIN, "util.py": PY_UTIL})
    async with await help_for(lsp_server, pad) as client:
        assert "path" in await completes(client, "main.py", PY_MAIN, 4, 5, "path")
        assert client.states()[:3] == ["idle", "starting", "ready"]
        answer = await client.ask("textDocument/definition", "main.py", PY_MAIN, 3, 12)
        targets = answer["result"] if isinstance(answer["result"], list) else [answer["result"]]
        assert [t["uri"] for t in targets] == ["file:///work/util.py"] and targets[0]["range"]["start"]["line"] == 0
        hover = await client.ask("textDocument/hover", "main.py", PY_MAIN, 3, 12)
        assert "helper" in str(hover["result"])

        async with await YClient.connect(ws_base(lsp_server), pad["id"], pad["keys"]["edit"], "typist") as typist:
            await typist.synced.wait()
            broken = "import sys\n\nsys.exit(0)\nprint(undefined_name)\n"
            await typist.edit(replace("main.py", broken))
            await client.wait_for(lambda: diagnostic_lines(client, "main.py") == {3})
            (diagnostic,) = client.diagnostics("main.py") or []
            assert "undefined_name" in diagnostic["message"]


async def test_cpp_completes_a_vectors_members_and_finds_a_header(lsp_server: ServerProcess) -> None:
    main = (
        '#include <vector>\n#include "util.h"\n\nint main() {\n  std::vector<int> v;\n  v.pu\n  return helper();\n}\n'
    )
    util = "#pragma once\nint helper();\n"
    pad = new_pad(lsp_server, "cpp", {"main.cpp": main, "util.h": util})
    async with await help_for(lsp_server, pad) as client:
        assert "push_back" in await completes(client, "main.cpp", main, 5, 6, "push_back")
        await client.wait_for(lambda: 5 in diagnostic_lines(client, "main.cpp"))  # `v.pu` is no member
        answer = await client.ask("textDocument/definition", "main.cpp", main, 6, 10)
        targets = answer["result"] if isinstance(answer["result"], list) else [answer["result"]]
        assert targets and targets[0]["uri"] == "file:///work/util.h" and targets[0]["range"]["start"]["line"] == 1


async def test_typescript_and_javascript_complete_and_diagnose(lsp_server: ServerProcess) -> None:
    ts = 'const greeting: string = "padbox";\nconst n: number = "two";\ngreeting.toUp\n'
    pad = new_pad(lsp_server, "typescript", {"main.ts": ts})
    async with await help_for(lsp_server, pad) as client:
        assert "toUpperCase" in await completes(client, "main.ts", ts, 2, 13, "toUpperCase")
        await client.wait_for(lambda: 1 in diagnostic_lines(client, "main.ts"))
    js = "const words = ['a'];\nwords.pu\n"
    pad = new_pad(lsp_server, "javascript", {"main.js": js})
    async with await help_for(lsp_server, pad) as client:
        assert "push" in await completes(client, "main.js", js, 1, 8, "push")


async def test_bash_completes_and_diagnoses(lsp_server: ServerProcess) -> None:
    script = "#!/bin/bash\ncd $1\nech\n"
    pad = new_pad(lsp_server, "bash", {"main.sh": script})
    async with await help_for(lsp_server, pad) as client:
        assert "echo" in await completes(client, "main.sh", script, 2, 3, "echo")
        await client.wait_for(lambda: 1 in diagnostic_lines(client, "main.sh"))  # shellcheck: `cd $1`


async def test_a_viewer_gets_hover_and_diagnostics_but_no_completion(lsp_server: ServerProcess) -> None:
    text = "import os\nprint(missing)\nos.pa\n"
    pad = new_pad(lsp_server, "python", {"main.py": text})
    async with await help_for(lsp_server, pad) as editor, await help_for(lsp_server, pad, "view") as viewer:
        await completes(editor, "main.py", text, 2, 5, "path")
        await viewer.wait_for(lambda: diagnostic_lines(viewer, "main.py") == {1})
        refused = await viewer.ask("textDocument/completion", "main.py", text, 2, 5)
        assert refused["error"] == {"code": -32001, "message": "forbidden for the view role"}
        for method in ("textDocument/definition", "textDocument/signatureHelp", "textDocument/documentHighlight"):
            assert (await viewer.ask(method, "main.py", text, 2, 1))["error"]["code"] == -32001
        hover = await viewer.ask("textDocument/hover", "main.py", text, 0, 8)
        assert "result" in hover and hover["result"]
        # A participant arriving later gets the current diagnostics at once.
        async with await help_for(lsp_server, pad, "view") as late:
            await late.wait_for(lambda: diagnostic_lines(late, "main.py") == {1}, timeout=5)


async def test_the_owners_switch_turns_help_off_for_everyone_and_is_in_the_history(lsp_server: ServerProcess) -> None:
    text = "print(missing)\n"
    pad = new_pad(lsp_server, "python", {"main.py": text})
    switch = f"{lsp_server.url}/api/v1/pads/{pad['id']}/language-help"
    assert http("GET", f"{switch}?key={pad['keys']['view']}") == (200, {"enabled": True})
    async with await help_for(lsp_server, pad) as editor:
        await editor.wait_for(lambda: editor.states() == ["idle"])  # nothing starts before an editor asks
        await completes(editor, "main.py", text, 0, 3, "print")
        await editor.wait_for(lambda: diagnostic_lines(editor, "main.py") == {0})
        assert http("PUT", f"{switch}?key={pad['keys']['edit']}", {"enabled": False})[0] == 403
        assert http("PUT", f"{switch}?key={pad['keys']['owner']}&name=Ines", {"enabled": False}) == (
            200,
            {"enabled": False},
        )
        await editor.wait_for(lambda: editor.states()[-1] == "off" and editor.diagnostics("main.py") == [])
        refused = await editor.ask("textDocument/completion", "main.py", text, 0, 3)
        assert refused["error"] == {"code": -32002, "message": "language help is off for this pad"}
        await eventually(lambda: not labels_of(pad["id"]), 20, "the language server stopped")
        assert http("GET", f"{switch}?key={pad['keys']['edit']}") == (200, {"enabled": False})
        status, history = http("GET", f"{lsp_server.url}/api/v1/pads/{pad['id']}/history?key={pad['keys']['owner']}")
        assert status == 200
        (entry,) = history["settings"]
        assert entry["setting"] == "language_help" and entry["value"] is False
        assert entry["author"] == {"name": "Ines", "role": "owner"} and entry["at"] > 0
        http("PUT", f"{switch}?key={pad['keys']['owner']}", {"enabled": True})
        await editor.wait_for(lambda: editor.states()[-1] == "idle")
        await completes(editor, "main.py", text, 0, 3, "print")
    # A socket opened while help is off is told so at once.
    http("PUT", f"{switch}?key={pad['keys']['owner']}", {"enabled": False})
    async with await help_for(lsp_server, pad) as late:
        await late.wait_for(lambda: late.states() == ["off"], timeout=5)


async def test_two_editors_typing_at_once_leave_correct_diagnostics(lsp_server: ServerProcess) -> None:
    pad = new_pad(lsp_server, "python", {"main.py": "\n"})
    async with (
        await help_for(lsp_server, pad) as helped,
        await YClient.connect(ws_base(lsp_server), pad["id"], pad["keys"]["edit"], "a") as a,
        await YClient.connect(ws_base(lsp_server), pad["id"], pad["keys"]["edit"], "b") as b,
    ):
        await a.synced.wait()
        await b.synced.wait()
        await completes(helped, "main.py", "\n", 0, 0, "print")  # started and ready

        async def type_into(client: YClient, where: int, text: str) -> None:
            for ch in text:
                await client.edit(lambda doc, ch=ch: insert_at_line(doc, where, ch))
                await asyncio.sleep(0)

        await a.edit(replace("main.py", "\n" * 6))
        await b.wait_for(lambda: b.files()["main.py"] == "\n" * 6)
        await asyncio.gather(type_into(a, 1, "first = 1"), type_into(b, 4, "print(first + nope)"))
        final = "\nfirst = 1\n\n\nprint(first + nope)\n\n"
        await a.wait_for(lambda: a.files()["main.py"] == final)
        await b.wait_for(lambda: b.files()["main.py"] == final)
        await helped.wait_for(lambda: diagnostic_lines(helped, "main.py") == {4})
        (diagnostic,) = helped.diagnostics("main.py") or []
        assert "nope" in diagnostic["message"]
        # The server's copy is the document: a request against the final text is answered.
        assert "first" in await completes(helped, "main.py", final, 4, 9, "first")


def insert_at_line(doc: Any, line: int, ch: str) -> None:
    """Insert at the end of a line of main.py (both typists append to their own line)."""
    from pycrdt import Map

    body = doc.get("files", type=Map)["main.py"]
    text = str(body)
    offset = 0
    for _ in range(line):
        offset = text.index("\n", offset) + 1
    end = text.index("\n", offset)
    body.insert(end, ch)


async def test_a_request_for_a_text_the_server_does_not_have_is_answered_empty(lsp_server: ServerProcess) -> None:
    text = "import os\nos.pa\n"
    pad = new_pad(lsp_server, "python", {"main.py": text})
    async with await help_for(lsp_server, pad) as client:
        await completes(client, "main.py", text, 1, 5, "path")
        loop = asyncio.get_running_loop()
        began = loop.time()
        stale = await client.ask("textDocument/completion", "main.py", text + "# typed since\n", 1, 5)
        assert stale["result"] == {"isIncomplete": True, "items": []}
        assert loop.time() - began >= 0.45, "it waited for the edit that might be in flight"
        assert (await client.ask("textDocument/hover", "main.py", "other", 0, 1))["result"] is None
        no_hash = await client.request("textDocument/completion", {"textDocument": {"uri": "file:///work/main.py"}})
        assert no_hash["result"] == {"isIncomplete": True, "items": []}
        unknown = await client.request("textDocument/rename", {})
        assert unknown["error"]["code"] == -32601


async def test_past_the_node_cap_help_is_unavailable_and_the_pad_still_runs(lsp_server: ServerProcess) -> None:
    text = "print('hi')\n"
    pads = [new_pad(lsp_server, "python", {"main.py": text}) for _ in range(4)]
    clients = [await help_for(lsp_server, pad) for pad in pads]
    try:
        for client in clients[:3]:
            await completes(client, "main.py", text, 0, 3, "print")
        refused = await clients[3].ask("textDocument/completion", "main.py", text, 0, 3)
        assert refused["error"] == {"code": -32003, "message": "language help is unavailable, try later"}
        assert clients[3].states()[-1] == "unavailable"
        last = pads[3]
        events = await Events.connect(ws_base(lsp_server), last["id"], last["keys"]["edit"])
        try:
            status, _ = http("POST", f"{lsp_server.url}/api/v1/pads/{last['id']}/runs?key={last['keys']['edit']}", {})
            assert status == 202
            finished = await events.next_of("pad_run_finished", timeout=60)
            assert finished["verdict"] == "ok"
        finally:
            await events.close()
        # A slot freed (a pad's sockets gone, its server stopped after the idle time): the next request starts one.
        await clients[0].close()
        await eventually(lambda: not labels_of(pads[0]["id"]), 30, "the idle server reaped")
        await completes(clients[3], "main.py", text, 0, 3, "print")
        assert clients[3].states()[-1] == "ready"
    finally:
        for client in clients:
            await client.close()


async def test_an_idle_pads_language_server_is_stopped_and_its_container_removed(lsp_server: ServerProcess) -> None:
    text = "import os\nos.pa\n"
    pad = new_pad(lsp_server, "python", {"main.py": text})
    async with await help_for(lsp_server, pad) as client:
        await completes(client, "main.py", text, 1, 5, "path")
        assert len(labels_of(pad["id"])) == 1
    await eventually(lambda: not labels_of(pad["id"]), IDLE_S + 20, "the language server's container removed")


async def test_changing_the_pads_language_switches_the_server(lsp_server: ServerProcess) -> None:
    text = "print(missing)\n"
    pad = new_pad(lsp_server, "python", {"main.py": text})
    async with (
        await help_for(lsp_server, pad) as client,
        await YClient.connect(ws_base(lsp_server), pad["id"], pad["keys"]["edit"], "owner") as peer,
    ):
        await completes(client, "main.py", text, 0, 3, "print")
        await client.wait_for(lambda: diagnostic_lines(client, "main.py") == {0})
        await peer.synced.wait()

        def to_bash(doc: Any) -> None:
            from pycrdt import Map

            doc.get("meta", type=Map)["language"] = "bash"

        await peer.edit(to_bash)
        await client.wait_for(lambda: client.diagnostics("main.py") == [])
        await client.wait_for(lambda: last_state(client) == {"state": "ready", "language": "bash", "message": ""})
        assert "starting" in client.states()[client.states().index("ready") + 1 :]

        def to_cobol(doc: Any) -> None:
            from pycrdt import Map

            doc.get("meta", type=Map)["language"] = "cobol"

        await peer.edit(to_cobol)
        await client.wait_for(lambda: client.states()[-1] == "unsupported")
        refused = await client.ask("textDocument/completion", "main.py", text, 0, 3)
        assert refused["error"]["code"] == -32004 and refused["error"]["message"].startswith("no language help for")


async def test_bad_frames_close_the_socket_with_4400(lsp_server: ServerProcess) -> None:
    pad = new_pad(lsp_server, "python", {"main.py": ""})
    client = await help_for(lsp_server, pad)
    await client.connection.send(b"\x00binary")
    assert await client.closed() == 4400
    client = await help_for(lsp_server, pad)
    await client.connection.send("not json")
    assert await client.closed() == 4400
    async with websockets.connect(f"{ws_base(lsp_server)}/ws/pads/{pad['id']}/lsp?key=wrong") as wrong:
        with pytest.raises(websockets.ConnectionClosed):
            await wrong.recv()
        assert wrong.close_code == 4404
