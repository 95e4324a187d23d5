"""Binary output, NUL bytes and invalid UTF-8 become valid JSON frames with U+FFFD where bytes are invalid."""

from __future__ import annotations

import json
import runpy

import pytest

from tests.security.target import PROGRAMS, Target, program

pytestmark = pytest.mark.docker


def payload() -> bytes:
    names = runpy.run_path(str(PROGRAMS / "binary_output.py"), run_name="payload")
    return bytes(names["PAYLOAD"])


async def test_binary_output_arrives_as_valid_json_with_replacement_characters(target: Target) -> None:
    t = await target.run("python", program("binary_output.py"))
    assert t.verdict == "ok"
    expected = payload().decode("utf-8", errors="replace")
    assert t.text("stdout") == expected and t.text("stderr") == expected
    assert "\x00" * 64 in t.text() and "\ufffd" in t.text() and "\U0001f600" in t.text()
    for frame in t.frames:
        # Strict: a lone surrogate would make this raise; the frame round-trips as standard JSON.
        encoded = json.dumps(frame.message, ensure_ascii=False, allow_nan=False).encode("utf-8")
        assert json.loads(encoded) == frame.message
    await target.survived(t)
