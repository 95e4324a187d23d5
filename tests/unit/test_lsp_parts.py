"""Language help's pure parts and its session's state machine, with a scripted language server in memory: the
socket's rules, the document hash both ends compute, the incremental changes, restarts and the node's cap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest
from pycrdt import Doc

from padbox.backends.lsp_docker import LSP_LABEL, lsp_container_config
from padbox.config import Settings
from padbox.core.protocol import SourceFile
from padbox.lsp import protocol
from padbox.lsp.channel import LaunchFailed
from padbox.lsp.documents import Workspace, change, name_of, uri_of
from padbox.lsp.protocol import Incoming, Malformed, State
from padbox.lsp.session import HelpSettings, PadHelp, Participant, Slots
from padbox.pads import model
from padbox.pads.model import PadContent, PadRole
from padbox.pads.store import PadRecord
from padbox_dev.pad_client import text_hash as client_hash
from tests.eventually import eventually


# --- the hash -------------------------------------------------------------------------------------------------
def test_the_hash_is_fnv1a_over_utf16_code_units() -> None:
    assert protocol.text_hash("") == "811c9dc5"
    assert protocol.text_hash("a") == "e40c292c"  # FNV-1a's published value for one 0x61
    # A character outside the BMP is two code units, as JavaScript's string sees it.
    assert protocol.text_hash("😀") != protocol.text_hash("\ud83d")
    for text in ("", "a", "print('hé')\n", "😀 x"):
        assert protocol.text_hash(text) == client_hash(text)


# --- incremental changes ------------------------------------------------------------------------------------------
def apply(text: str, edit: dict[str, Any]) -> str:
    """What a language server does with an incremental change (positions in UTF-16 code units)."""

    def offset(position: dict[str, int]) -> int:
        lines = text.split("\n")
        start = sum(len(line) + 1 for line in lines[: position["line"]])
        line = lines[position["line"]]
        units = 0
        for index, ch in enumerate(line):
            if units >= position["character"]:
                return start + index
            units += 2 if ord(ch) > 0xFFFF else 1
        return start + len(line)

    start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
    return text[:start] + edit["text"] + text[end:]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("", "x"),
        ("import os\nos.pa\n", "import os\nos.path\n"),
        ("a\nb\nc\n", "a\nc\n"),
        ("😀 = 1\nx", "😀 = 12\nx"),
        ("same", "different entirely"),
        ("aaaa", "aa"),
        ("line\n", "line\nnew\n"),
    ],
)
def test_one_incremental_change_turns_the_old_text_into_the_new(old: str, new: str) -> None:
    edit = change(old, new)
    assert edit is not None and apply(old, edit) == new
    assert change(new, new) is None


def test_the_workspace_opens_changes_and_closes_in_order() -> None:
    workspace = Workspace("python")
    first = workspace.sync({"b.py": "b", "a.py": "a"})
    assert [c.get("write") or c["lsp"]["method"] for c in first] == [
        "a.py",
        "textDocument/didOpen",
        "b.py",
        "textDocument/didOpen",
    ]
    assert workspace.sync({"b.py": "b", "a.py": "a"}) == []
    second = workspace.sync({"a.py": "a2"})
    assert second[0] == {"remove": "b.py"}
    assert second[1]["lsp"]["method"] == "textDocument/didClose"
    changed = second[3]["lsp"]["params"]
    assert changed["textDocument"] == {"uri": "file:///work/a.py", "version": 2}
    assert uri_of("dir/my file.py") == "file:///work/dir/my%20file.py"
    assert name_of("file:///work/dir/my%20file.py") == "dir/my file.py"
    assert name_of("file:///usr/include/stdio.h") is None


# --- the socket's rules -------------------------------------------------------------------------------------------
def test_frames_that_are_not_one_json_rpc_message_are_malformed() -> None:
    for bad in ("not json", "[1]", '{"id": 1}', '{"method": "x", "id": [1]}', '{"method": 3}'):
        with pytest.raises(Malformed):
            protocol.parse(bad)
    assert protocol.parse('{"jsonrpc": "2.0", "id": 7, "method": "initialize"}') == Incoming("initialize", 7, None)
    assert protocol.parse('{"jsonrpc": "2.0", "id": 7, "result": null}').method == ""


def test_a_viewer_may_hover_only_and_each_state_refuses_with_its_code() -> None:
    assert protocol.refusal_for_role(PadRole.VIEW, "textDocument/hover") is None
    assert protocol.refusal_for_role(PadRole.VIEW, "textDocument/completion") == {
        "code": -32001,
        "message": "forbidden for the view role",
    }
    assert protocol.refusal_for_role(PadRole.EDIT, "textDocument/definition") is None
    assert protocol.refusal_for_state(State.OFF, "Python") == (-32002, "language help is off for this pad")
    assert protocol.refusal_for_state(State.UNAVAILABLE, "Python") == (
        -32003,
        "language help is unavailable, try later",
    )
    assert protocol.refusal_for_state(State.UNSUPPORTED, "Ruby") == (-32004, "no language help for Ruby")
    assert protocol.refusal_for_state(State.READY, "Python") is None


def test_the_container_is_a_runs_container_with_the_language_servers_image() -> None:
    settings = Settings.from_env({"PADBOX_INSTANCE": "unit", "PADBOX_LSP_MEMORY_MB": "300"})
    config = lsp_container_config(settings, "PAD", "python", ["pylsp"])
    assert config["Image"] == "padbox-lsp:latest"
    assert config["Cmd"][-1] == "pylsp" and "shim.py" in " ".join(config["Cmd"])
    assert config["Labels"][LSP_LABEL] == "python" and config["Labels"]["padbox.session"] == "lsp-PAD"
    host = config["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
    assert host["Memory"] == 300 << 20 and config["User"] == "1000:1000"
    assert "Runtime" not in host, "runs under gVisor leave language servers on the engine's default runtime"
    gvisor = Settings.from_env({"PADBOX_RUNTIME": "runsc"})
    assert "Runtime" not in lsp_container_config(gvisor, "PAD", "python", ["pylsp"])["HostConfig"]
    both = Settings.from_env({"PADBOX_RUNTIME": "runsc", "PADBOX_LSP_RUNTIME": "runsc"})
    assert lsp_container_config(both, "PAD", "python", ["pylsp"])["HostConfig"]["Runtime"] == "runsc"


# --- the session, with a scripted language server -----------------------------------------------------------------
class ScriptedChannel:
    """A language server in memory: answers initialize and completion, ends when told."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    async def send(self, command: dict[str, Any]) -> None:
        if self.closed:
            raise OSError("gone")
        self.sent.append(command)
        message = command.get("lsp", {})
        if message.get("method") in ("initialize", "textDocument/completion") and "id" in message:
            items = {"isIncomplete": False, "items": [{"label": "path"}]}
            result = {"capabilities": {}} if message["method"] == "initialize" else items
            self.inbox.put_nowait({"lsp": {"jsonrpc": "2.0", "id": message["id"], "result": result}})

    async def receive(self) -> dict[str, Any] | None:
        return await self.inbox.get()

    async def why_ended(self, code: int | None) -> str:
        return "it exited with code 1"

    def close(self) -> None:
        self.closed = True
        self.inbox.put_nowait(None)

    def crash(self) -> None:
        self.inbox.put_nowait(None)


class ScriptedLauncher:
    def __init__(self, fail: bool = False) -> None:
        self.channels: list[ScriptedChannel] = []
        self.fail = fail

    async def launch(self, pad_id: str, language: str, argv: Sequence[str]) -> ScriptedChannel:
        if self.fail:
            raise LaunchFailed("no engine")
        channel = ScriptedChannel(f"c{len(self.channels)}")
        self.channels.append(channel)
        return channel

    async def settled(self) -> None:
        return None


class FakeRoom:
    """What a session reads of a room: its document, and the watchers it calls after each edit."""

    def __init__(self, text: str) -> None:
        self.doc: Doc[Any] = Doc()
        model.write_content(
            self.doc, PadContent(files=(SourceFile("main.py", text),), language="python", entry="main.py", title="t")
        )
        self.watchers: list[Any] = []
        self.pad = PadRecord("PAD", "t", "python", 0, 0, None, {})


def session_with(launcher: ScriptedLauncher, slots: Slots | None = None) -> tuple[PadHelp, FakeRoom, Participant]:
    help = PadHelp("PAD", True, launcher, slots or Slots(4), HelpSettings(idle_s=1, deadline_s=2), str.title)
    room = FakeRoom("import os\nos.pa\n")
    help.attach(room)  # type: ignore[arg-type]
    participant = Participant(PadRole.EDIT)
    help.join(participant)
    return help, room, participant


def sent(participant: Participant) -> list[dict[str, Any]]:
    return [json.loads(m) for m in participant.outgoing.messages if isinstance(m, str)]


def states(participant: Participant) -> list[str]:
    return [m["params"]["state"] for m in sent(participant) if m.get("method") == "padbox/state"]


def completion(ident: int, text: str = "import os\nos.pa\n") -> Incoming:
    params = {
        "textDocument": {"uri": "file:///work/main.py"},
        "position": {"line": 1, "character": 5},
        "padbox": {"hash": protocol.text_hash(text)},
    }
    return Incoming("textDocument/completion", ident, params)


def answer(participant: Participant, ident: int) -> dict[str, Any] | None:
    return next((m for m in sent(participant) if m.get("id") == ident), None)


async def test_a_crashed_server_is_restarted_and_everyone_sees_it() -> None:
    launcher = ScriptedLauncher()
    help, _, participant = session_with(launcher)
    help.receive(participant, completion(1))
    await eventually(lambda: answer(participant, 1), 5, "the first answer")
    assert answer(participant, 1)["result"]["items"] == [{"label": "path"}]  # type: ignore[index]
    assert states(participant) == ["starting", "ready"]
    opened = [c for c in launcher.channels[0].sent if c.get("lsp", {}).get("method") == "textDocument/didOpen"]
    assert len(opened) == 1
    launcher.channels[0].crash()
    await eventually(lambda: states(participant)[-1:] == ["ready"] and len(launcher.channels) == 2, 5, "back")
    assert states(participant) == ["starting", "ready", "restarting", "ready"]
    await help.close()


async def test_a_server_that_cannot_start_ends_unavailable_and_releases_its_slot(monkeypatch: Any) -> None:
    monkeypatch.setattr("padbox.lsp.session.BACKOFF_S", (0.0,))
    slots = Slots(1)
    help, _, participant = session_with(ScriptedLauncher(fail=True), slots)
    help.receive(participant, completion(1))
    await eventually(lambda: help.state is State.UNAVAILABLE, 5, "unavailable")
    assert not slots.held
    help.receive(participant, completion(2))  # an editor's request tries again, and fails again
    await help.close()


async def test_past_the_cap_a_pad_is_unavailable_and_requests_are_refused() -> None:
    slots = Slots(1)
    first, _, one = session_with(ScriptedLauncher(), slots)
    first.receive(one, completion(1))
    second, _, two = session_with(ScriptedLauncher(), slots)
    second.receive(two, completion(1))
    assert answer(two, 1) == protocol.error(1, -32003, "language help is unavailable, try later")
    await first.close()
    second.receive(two, completion(2))  # the slot is free again
    await eventually(lambda: answer(two, 2), 5, "answered")
    assert "result" in answer(two, 2)  # type: ignore[operator]
    await second.close()


async def test_a_stale_request_is_answered_empty_after_the_wait() -> None:
    help, _, participant = session_with(ScriptedLauncher())
    help.receive(participant, completion(1, "not the pad's text"))
    await eventually(lambda: answer(participant, 1), 5, "answered")
    assert answer(participant, 1)["result"] == {"isIncomplete": True, "items": []}  # type: ignore[index]
    await help.close()
