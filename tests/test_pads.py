"""Pads against a real server process: raw Yjs clients (pycrdt over `websockets`, no padbox code), the
HTTP API, the events socket, and pad runs in the real runner image."""

from __future__ import annotations

import asyncio
import base64
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pycrdt import Doc, Map, Text

from padbox.client import Client, connect
from tests.conftest import ServerProcess, instance_name, start_server
from tests.pads_client import Events, YClient, append, http, ws_base
from tests.pads_client import new_pad as make_pad

pytestmark = pytest.mark.docker

MAX_KB = 64
ASK = "name = input('name? ')\nprint('hello', name)\n"


@pytest.fixture(scope="module")
def pad_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("pads"),
        instance_name("pytest-pads"),
        PADBOX_POOL_SIZE="1",
        PADBOX_PAD_MAX_KB=str(MAX_KB),
        PADBOX_SESSIONS_PER_MINUTE="100000",
    )
    yield srv
    srv.stop()


def new_pad(server: ServerProcess, **body: Any) -> dict[str, Any]:
    """A pad, with the keys and links the API promises checked on every one the tests make."""
    pad = make_pad(server, **body)
    assert set(pad["keys"]) == {"owner", "edit", "view"} and len(set(pad["keys"].values())) == 3
    for role, key in pad["keys"].items():
        assert len(key) >= 32, "192 bits, URL-safe"
        assert pad["links"][role] == f"{server.url}/p/{pad['id']}#key={key}"
    return pad


async def joined(server: ServerProcess, pad: dict[str, Any], role: str, name: str = "") -> YClient:
    client = await YClient.connect(ws_base(server), pad["id"], pad["keys"][role], name or role)
    async with asyncio.timeout(5):
        await client.synced.wait()
    return client


def pad_url(server: ServerProcess, pad: dict[str, Any], what: str = "", role: str = "owner") -> str:
    return f"{server.url}/api/v1/pads/{pad['id']}{what}?key={pad['keys'][role]}"


async def test_a_new_pad_holds_the_documented_layout(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server, language="python", title="Two sum", files=[{"name": "solution.py", "content": "x = 1"}])
    client = await joined(pad_server, pad, "view")
    assert client.files() == {"solution.py": "x = 1"}
    assert client.meta() == {"language": "python", "entry": "solution.py", "title": "Two sum"}
    status, info = http("GET", pad_url(pad_server, pad, role="edit"))
    assert status == 200 and info["role"] == "edit" and info["title"] == "Two sum" and info["ended"] is False
    await client.close()


async def test_edits_merge_both_ways_between_three_clients(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    owner, editor, viewer = [await joined(pad_server, pad, role) for role in ("owner", "edit", "view")]
    await asyncio.gather(owner.edit(append("main.py", "\n# owner")), editor.edit(append("notes.txt", "editor")))
    for client in (owner, editor, viewer):
        await client.wait_for(lambda c=client: "# owner" in c.files()["main.py"] and "notes.txt" in c.files())
    assert owner.files() == editor.files() == viewer.files()
    late = await joined(pad_server, pad, "edit")  # a newcomer syncs to the same document
    assert late.files() == owner.files()
    for client in (owner, editor, viewer, late):
        await client.close()


async def test_a_viewers_update_is_refused_and_the_document_is_unchanged_for_everyone(
    pad_server: ServerProcess,
) -> None:
    pad = new_pad(pad_server)
    editor, viewer = await joined(pad_server, pad, "edit"), await joined(pad_server, pad, "view")
    before = editor.files()
    await viewer.edit(append("main.py", "\nimport os; os.system('rm -rf /')"))
    await viewer.edit(append("evil.py", "x"))
    await editor.edit(append("main.py", "\n# marker"))
    await viewer.roundtrip()  # the viewer's edits have been handled (refused) by now
    await editor.roundtrip()
    witness = await joined(pad_server, pad, "owner")
    assert "rm -rf" not in witness.files()["main.py"] and "evil.py" not in witness.files()
    assert witness.files()["main.py"] == before["main.py"] + "\n# marker"
    assert "rm -rf" not in editor.files()["main.py"]
    assert viewer.close_code is None, "a viewer whose edit was refused keeps watching"
    status, history = http("GET", pad_url(pad_server, pad, "/history"))
    assert status == 200 and [u["author"]["role"] for u in history["updates"]] == ["owner", "edit"]
    for client in (editor, viewer, witness):
        await client.close()


async def test_an_oversized_update_is_refused_and_the_others_are_unaffected(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    big, other = await joined(pad_server, pad, "edit"), await joined(pad_server, pad, "edit")
    await big.edit(append("main.py", "x" * (MAX_KB + 8) * 1024))
    assert await big.closed() == 4413
    assert "KiB" in big.close_reason
    await other.edit(append("main.py", "\n# still fine"))
    await other.roundtrip()
    witness = await joined(pad_server, pad, "view")
    assert witness.files()["main.py"].endswith("# still fine") and "xxxx" not in witness.files()["main.py"]
    assert other.close_code is None
    for client in (other, witness):
        await client.close()


async def test_too_many_files_are_refused_with_4413(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    client = await joined(pad_server, pad, "edit")

    def many(doc: Doc[Any]) -> None:
        files = doc.get("files", type=Map)
        for i in range(64):
            files[f"f{i}.py"] = Text("")

    await client.edit(many)
    assert await client.closed() == 4413
    assert "64" in client.close_reason
    witness = await joined(pad_server, pad, "view")
    assert list(witness.files()) == ["main.py"]
    await witness.close()


async def test_a_malformed_message_closes_that_connection_with_4400(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    bad, good = await joined(pad_server, pad, "edit"), await joined(pad_server, pad, "edit")
    await bad.send_raw(b"\x00\x02\x05garbage")  # an update whose bytes are no Yjs update
    assert await bad.closed() == 4400
    text_sender = await joined(pad_server, pad, "edit")
    await text_sender.connection.send("hello")
    assert await text_sender.closed() == 4400
    await good.edit(append("main.py", "#ok"))
    await good.wait_for(lambda: good.files()["main.py"].endswith("#ok"))
    assert good.close_code is None
    await good.close()


async def test_an_unknown_pad_and_a_wrong_key_get_the_same_answer(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    wrong_key = http("GET", f"{pad_server.url}/api/v1/pads/{pad['id']}?key={pad['keys']['owner']}x")
    unknown = http("GET", f"{pad_server.url}/api/v1/pads/nosuchpad?key={pad['keys']['owner']}")
    no_key = http("GET", f"{pad_server.url}/api/v1/pads/{pad['id']}")
    assert (
        wrong_key
        == unknown
        == no_key
        == (404, {"type": "error", "code": "not_found", "message": unknown[1]["message"]})
    )
    for pad_id, key in ((pad["id"], "wrong"), ("nosuchpad", pad["keys"]["edit"])):
        for path in (f"/ws/pads/{pad_id}", f"/ws/pads/{pad_id}/events"):
            async with websockets.connect(f"{ws_base(pad_server)}{path}?key={key}") as ws:
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
                assert ws.close_code == 4404 and ws.close_reason == "no pad has that id and key"


async def test_roles_are_enforced_on_the_http_api(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    assert http("POST", pad_url(pad_server, pad, "/runs", "view"), {})[0] == 403
    for role in ("view", "edit"):
        for method, what in (("GET", "/notes"), ("GET", "/history"), ("GET", "/export"), ("POST", "/end")):
            status, body = http(method, pad_url(pad_server, pad, what, role), None if method == "GET" else {})
            assert (status, body["code"]) == (403, "forbidden"), (role, what)
    assert http("PUT", pad_url(pad_server, pad, "/notes"), {"notes": "strong on tests"}) == (
        200,
        {"notes": "strong on tests"},
    )
    assert http("GET", pad_url(pad_server, pad, "/notes"))[1] == {"notes": "strong on tests"}
    status, as_editor = http("GET", pad_url(pad_server, pad, role="edit"))
    assert status == 200 and "strong on tests" not in str(as_editor)


async def test_a_pad_run_is_seen_live_by_every_events_socket_and_recorded_in_history(
    pad_server: ServerProcess,
) -> None:
    pad = new_pad(pad_server, files=[{"name": "main.py", "content": ASK}])
    editor_events = await Events.connect(ws_base(pad_server), pad["id"], pad["keys"]["edit"])
    viewer_events = await Events.connect(ws_base(pad_server), pad["id"], pad["keys"]["view"])
    for events, role in ((editor_events, "edit"), (viewer_events, "view")):
        first = await events.next_of("pad")
        assert first["role"] == role and first["run"] is None and first["ended"] is False
    status, accepted = http("POST", pad_url(pad_server, pad, "/runs", "edit"), {"name": "Ada"})
    assert status == 202
    run_id = accepted["run_id"]
    as_editor, as_viewer = await editor_events.next_of("pad_run"), await viewer_events.next_of("pad_run")
    assert as_editor["run_id"] == as_viewer["run_id"] == run_id and as_editor["by"] == "Ada"
    assert as_editor["key"] != as_viewer["key"]
    async with connect(pad_server.ws_url) as a, connect(pad_server.ws_url) as b:
        driver, watcher = Client(a), Client(b)
        await driver.join(run_id, as_editor["key"], "driver")
        await watcher.join(run_id, as_viewer["key"], "viewer")
        assert (await driver.until(lambda f: f.type == "snapshot")).message["role"] == "driver"
        assert (await watcher.until(lambda f: f.type == "snapshot")).message["role"] == "viewer"
        await driver.stdin("Grace\n")  # the prompt may be in the snapshot already, or still to come
        await watcher.until_output("hello Grace")
    # The viewer's key does not drive.
    async with connect(pad_server.ws_url) as c:
        would_drive = Client(c)
        await would_drive.join(run_id, as_viewer["key"], "driver")
        assert (await would_drive.until(lambda f: f.type == "error")).message["code"] == "bad_request"
    finished = await editor_events.next_of("pad_run_finished")
    assert (finished["run_id"], finished["verdict"], finished["exit_code"]) == (run_id, "ok", 0)
    assert (await viewer_events.next_of("pad_run_finished"))["verdict"] == "ok"
    status, history = http("GET", pad_url(pad_server, pad, "/history"))
    (run,) = history["runs"]
    assert run["run_id"] == run_id and run["author"] == {"name": "Ada", "role": "edit"}
    assert run["files"] == [{"name": "main.py", "content": ASK}] and run["language"] == "python"
    assert "hello Grace" in run["output"] and run["verdict"] == "ok" and run["exit_code"] == 0
    assert run["usage"]["wall_ms"] > 0 and run["finished_at"] >= run["at"]
    for events in (editor_events, viewer_events):
        await events.close()


async def test_a_pad_run_that_ended_before_a_page_joined_is_joined_whole_then_closed(
    pad_server: ServerProcess,
) -> None:
    """Every page joins a pad's run a moment after it is told of it; a quick program has ended by then. The page
    still gets the run as it was, output and exit, and the socket closes normally."""
    pad = new_pad(pad_server, files=[{"name": "main.py", "content": "print('quick')\nraise SystemExit(3)\n"}])
    events = await Events.connect(ws_base(pad_server), pad["id"], pad["keys"]["edit"])
    await events.next_of("pad")
    status, accepted = http("POST", pad_url(pad_server, pad, "/runs", "edit"), {"name": "Ada"})
    assert status == 202, accepted
    told = await events.next_of("pad_run")
    assert (await events.next_of("pad_run_finished"))["verdict"] == "runtime_error"
    await events.close()
    async with connect(pad_server.ws_url) as socket:
        late = Client(socket)
        await late.join(told["run_id"], told["key"], "driver")
        snapshot = (await late.until(lambda f: f.type in ("snapshot", "error"))).message
        transcript = await late.collect()
    assert snapshot["type"] == "snapshot", snapshot
    frames = snapshot["frames"]
    assert "quick" in "".join(f["data"] for f in frames if f["type"] == "stdout"), frames
    (exit_frame,) = [f for f in frames if f["type"] == "exit"]
    assert (exit_frame["code"], exit_frame["verdict"]) == (3, "runtime_error"), exit_frame
    assert transcript.close_code == 1000


async def test_ending_the_pad_makes_it_read_only_for_everyone(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    owner, editor = await joined(pad_server, pad, "owner"), await joined(pad_server, pad, "edit")
    events = await Events.connect(ws_base(pad_server), pad["id"], pad["keys"]["edit"])
    await events.next_of("pad")
    status, ended = http("POST", pad_url(pad_server, pad, "/end"), {})
    assert status == 200 and ended["ended"] is True
    assert (await events.next_of("pad_ended"))["at"] == ended["ended_at"]
    await editor.edit(append("main.py", "# after the end"))
    await owner.edit(append("main.py", "# owner after the end"))
    await editor.roundtrip()
    await owner.roundtrip()
    assert http("POST", pad_url(pad_server, pad, "/runs", "edit"), {})[1]["code"] == "pad_ended"
    witness = await joined(pad_server, pad, "view")
    assert "after the end" not in witness.files()["main.py"]
    assert http("GET", pad_url(pad_server, pad, role="view"))[1]["ended"] is True
    for client in (owner, editor, witness):
        await client.close()
    await events.close()


async def test_a_new_link_stops_the_old_key_at_once(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    old = await joined(pad_server, pad, "edit")
    status, fresh = http("POST", pad_url(pad_server, pad, "/links"), {"role": "edit"})
    assert status == 200 and fresh["role"] == "edit" and fresh["key"] != pad["keys"]["edit"]
    assert fresh["link"].endswith(f"/p/{pad['id']}#key={fresh['key']}")
    assert await old.closed() == 4404
    assert http("GET", pad_url(pad_server, pad, role="edit"))[0] == 404
    renewed = await YClient.connect(ws_base(pad_server), pad["id"], fresh["key"])
    await renewed.edit(append("main.py", "# renewed"))
    await renewed.wait_for(lambda: renewed.synced.is_set())
    assert http("GET", f"{pad_server.url}/api/v1/pads/{pad['id']}?key={fresh['key']}")[1]["role"] == "edit"
    await renewed.close()


async def test_history_replays_the_document_and_export_holds_its_state(pad_server: ServerProcess) -> None:
    pad = new_pad(pad_server)
    editor = await joined(pad_server, pad, "edit", "Linus")
    for word in ("a", "b", "c"):
        await editor.edit(append("main.py", word))
    await editor.roundtrip()
    status, history = http("GET", pad_url(pad_server, pad, "/history"))
    assert [u["seq"] for u in history["updates"]] == [0, 1, 2, 3]
    assert [u["author"]["name"] for u in history["updates"][1:]] == ["Linus"] * 3
    replayed: Doc[Any] = Doc()
    versions = []
    for update in history["updates"]:
        replayed.apply_update(base64.b64decode(update["update"]))
        versions.append(str(replayed.get("files", type=Map)["main.py"]))
    start = versions[0]
    assert versions == [start, start + "a", start + "ab", start + "abc"], "each step of the playback, in order"
    status, export = http("GET", pad_url(pad_server, pad, "/export"))
    restored: Doc[Any] = Doc()
    restored.apply_update(base64.b64decode(export["state"]))
    assert str(restored.get("files", type=Map)["main.py"]).endswith("abc")
    assert export["updates"] == history["updates"]
    await editor.close()


async def test_a_pad_and_its_history_survive_a_server_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_server(
        tmp_path, instance_name("pytest-pads-restart"), PADBOX_DATA_DIR=str(data), PADBOX_POOL_SIZE="0"
    )
    try:
        pad = new_pad(first, files=[{"name": "main.py", "content": "print('kept')\n"}])
        editor = await joined(first, pad, "edit")
        await editor.edit(append("main.py", "# edited before the restart\n"))
        await editor.roundtrip()
        other = await joined(first, pad, "owner")
        assert "# edited before the restart" in other.files()["main.py"]
        events = await Events.connect(ws_base(first), pad["id"], pad["keys"]["owner"])
        status, _ = http("POST", pad_url(first, pad, "/runs", "edit"), {"name": "Ada"})
        assert status == 202
        assert (await events.next_of("pad_run_finished", timeout=60))["verdict"] == "ok"
        for client in (editor, other):
            await client.close()
        await events.close()
    finally:
        first.stop(signal.SIGTERM)
    second = start_server(
        tmp_path, instance_name("pytest-pads-restart"), PADBOX_DATA_DIR=str(data), PADBOX_POOL_SIZE="0"
    )
    try:
        again = await joined(second, pad, "view")
        assert again.files()["main.py"] == "print('kept')\n# edited before the restart\n"
        status, history = http("GET", pad_url(second, pad, "/history"))
        assert status == 200 and len(history["updates"]) == 2
        (run,) = history["runs"]
        assert run["author"]["name"] == "Ada" and run["output"].strip() == "kept" and run["verdict"] == "ok"
        await again.close()
    finally:
        second.stop()


async def test_tokens_and_the_origin_allowlist_guard_pads(tmp_path: Path) -> None:
    srv = start_server(tmp_path, instance_name("pytest-pads-token"), PADBOX_TOKENS="s3cret", PADBOX_POOL_SIZE="0")
    try:
        assert http("POST", f"{srv.url}/api/v1/pads", {})[0] == 401
        status, pad = http("POST", f"{srv.url}/api/v1/pads?token=s3cret", {})
        assert status == 201
        url = f"{srv.url}/api/v1/pads/{pad['id']}?key={pad['keys']['view']}"
        assert http("GET", url)[0] == 401
        assert http("GET", url, headers={"Authorization": "Bearer s3cret"})[0] == 200
        evil = {"Authorization": "Bearer s3cret", "Origin": "https://evil.example"}
        assert http("GET", url, headers=evil)[0] == 403
        socket = f"ws://127.0.0.1:{srv.port}/ws/pads/{pad['id']}?key={pad['keys']['view']}"
        async with websockets.connect(socket) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1008
        async with websockets.connect(
            socket + "&token=s3cret", additional_headers={"Origin": "https://evil.example"}
        ) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1008
        async with websockets.connect(socket, subprotocols=["padbox.token.s3cret"]) as ws:  # type: ignore[list-item]
            assert isinstance(await ws.recv(), bytes)  # sync step 1: it is in
    finally:
        srv.stop()


def test_the_pad_page_is_served_at_its_path(pad_server: ServerProcess) -> None:
    answer = httpx.get(f"{pad_server.url}/p/anything", timeout=10)
    assert answer.status_code == 200 and "text/html" in answer.headers["Content-Type"]
    assert b"<html" in answer.content.lower()
