"""The pad's side of the contract, checked without a browser: its protocol names are the server's
(server/protocol.py defines them), and its own unit tests (static/test/, node's test runner) pass."""

from __future__ import annotations

import re
import shutil
import subprocess
from enum import Enum
from pathlib import Path

import pytest

from padbox.core import access, protocol

STATIC = Path(__file__).resolve().parents[2] / "static"


def pad_constants() -> dict[str, dict[str, str]]:
    """The frozen objects in static/src/protocol.js, as {object name: {key: value}}."""
    source = (STATIC / "src" / "protocol.js").read_text()
    objects = {}
    for name, body in re.findall(r"export const (\w+) = Object\.freeze\(\{(.*?)\}\);", source, re.DOTALL):
        objects[name] = {key: value for key, value in re.findall(r'(\w+): "?([\w]+)"?,', body)}
    return objects


@pytest.mark.parametrize(
    "enum",
    [protocol.Stage, protocol.Verdict, protocol.ErrorCode, protocol.Signal, protocol.Role],
    ids=lambda enum: enum.__name__,
)
def test_pad_knows_every_value_of_the_closed_sets_it_shows(enum: type[Enum]) -> None:
    """A verdict, stage, error code or role the pad did not know would reach a person unlabelled."""
    pad = pad_constants()
    assert enum.__name__ in pad, f"static/src/protocol.js lacks {enum.__name__}"
    assert pad[enum.__name__] == {member.name: str(member.value) for member in enum}


@pytest.mark.parametrize(
    "enum", [protocol.ClientType, protocol.ServerType, protocol.CloseCode], ids=lambda enum: enum.__name__
)
def test_every_message_name_the_pad_uses_is_the_servers(enum: type[Enum]) -> None:
    """The pad may use fewer messages than the server offers, but never a name the server spells differently."""
    pad = pad_constants()
    assert enum.__name__ in pad, f"static/src/protocol.js lacks {enum.__name__}"
    server_side = {member.name: str(member.value) for member in enum}
    drifted = {k: v for k, v in pad[enum.__name__].items() if server_side.get(k) != v}
    assert not drifted, f"static/src/protocol.js {enum.__name__} has names the server does not: {drifted}"


def test_pad_sends_tokens_in_the_subprotocol_the_server_reads() -> None:
    source = (STATIC / "src" / "protocol.js").read_text()
    assert f'export const TOKEN_SUBPROTOCOL_PREFIX = "{access.TOKEN_SUBPROTOCOL_PREFIX}";' in source


def test_pad_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None or not (STATIC / "node_modules").is_dir():
        pytest.fail("the pad's unit tests need node and static/node_modules (run `make test`, which installs both)")
    result = subprocess.run([node, "--test", "test/"], cwd=STATIC, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
