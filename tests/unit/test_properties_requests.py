"""Properties of every door's request parsing: whatever a client sends (any JSON value, any text, any
bytes, and near misses of each real message), the answer is a parsed request or a ProtocolError a client
can read, never another exception (which a transport would turn into a dropped socket or a 500)."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from padbox.config import SHIPPED_MANIFEST, Settings
from padbox.core import protocol
from padbox.core.languages import Catalogue
from padbox.core.limits import LIMIT_NAMES
from padbox.core.protocol import ClientType, ErrorCode, ProtocolError, Role, RunRequest, Signal
from padbox.core.session import plan_run
from padbox.web import piston, rest

CATALOGUE = Catalogue.load(SHIPPED_MANIFEST).with_versions(
    {"javascript": "15.10.0", "python": "3.11.2", "c": "12.2.0", "bash": "5.2.15", "java": "17.0.8"}
)
POLICY = Settings.from_env({}).limits
# Names a client would plausibly send, and the ones that break something: an alias in capitals,
# surrounding blanks, empty, unknown.
LANGUAGES = st.sampled_from(["python", "PY", " c ", "java", "js", "bash", "", "cobol", "Python3"]) | st.text(max_size=8)

# Any text, lone surrogates included (they cannot be encoded, so they reach the decoders as errors).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=20)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12
)
# Numbers as JSON can write them but Python's json module never does.
NUMBER_TEXT = st.sampled_from(["1e400", "-1e400", "1e-400", "123456789012345678901234567890", "-0", "0.0", "1E2"])

# File names: real ones, and every way one could try to leave the work directory.
NAME_PARTS = st.sampled_from(["main.py", "a", "..", ".", "", "b c", "\x00", "\\", "é", "x" * 300])
FILE_NAMES = st.lists(NAME_PARTS, min_size=1, max_size=4).map("/".join) | st.text(max_size=12)
FILES = st.lists(st.fixed_dictionaries({"name": FILE_NAMES, "content": st.text(max_size=20)}), max_size=3)
# Java names a single source's file after its public class: any identifier, long ones too.
JAVA_SOURCE = st.builds(
    lambda head, more: f"public class {head}{'x' * more} {{}}\n",
    st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=8),
    st.integers(0, 300),
)
LIMIT_VALUES = (
    st.integers(-10, 5000) | st.floats(allow_nan=False, allow_infinity=False) | st.booleans() | st.text(max_size=3)
)
LIMITS = st.dictionaries(st.sampled_from(LIMIT_NAMES) | st.text(max_size=6), LIMIT_VALUES, max_size=3)

RUN_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "language": LANGUAGES | JSON,
    "files": FILES | JSON,
    "source": st.text(max_size=20) | JAVA_SOURCE | JSON,
    "args": st.lists(st.text(max_size=5), max_size=3) | JSON,
    "stdin": st.text(max_size=10) | JSON,
    "limits": LIMITS | JSON,
    "tty": st.booleans() | JSON,
    "cols": st.integers(-5, 2000) | JSON,
    "rows": st.integers(-5, 2000) | JSON,
}


def near_miss(tag: str, fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A message of one type: each field present or not, mostly of the right shape, sometimes any JSON."""
    return st.fixed_dictionaries({"type": st.just(tag) if tag else JSON}, optional={**fields, "extra": JSON})


CLIENT_MESSAGES = st.one_of(
    near_miss(ClientType.RUN, RUN_FIELDS),
    near_miss(ClientType.STDIN, {"data": ANY_TEXT | JSON}),
    near_miss(ClientType.EOF, {}),
    near_miss(ClientType.SIGNAL, {"signal": st.sampled_from([*Signal, "SIGSTOP", "sigint"]) | JSON}),
    near_miss(ClientType.RESIZE, {"cols": st.integers(-5, 2000) | JSON, "rows": st.integers(-5, 2000) | JSON}),
    near_miss(
        ClientType.JOIN,
        {
            "id": st.text(max_size=5) | JSON,
            "key": st.text(max_size=5) | JSON,
            "role": st.sampled_from([*Role, "admin"]) | JSON,
        },
    ),
    near_miss("", RUN_FIELDS),
)


def as_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def encoded(value: Any) -> bytes:
    return as_text(value).encode("utf-8", "surrogatepass")  # a lone surrogate stays as invalid UTF-8


# Text a client could send: JSON of any value or of a near-miss message, cut short or not, raw bytes,
# deep nesting, and numbers Python never writes.
RAW_TEXT = st.one_of(
    JSON.map(as_text),
    CLIENT_MESSAGES.map(as_text),
    st.tuples(CLIENT_MESSAGES.map(as_text), st.integers(0, 200)).map(lambda cut: cut[0][: cut[1]]),
    ANY_TEXT,
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    NUMBER_TEXT.map(lambda n: f'{{"type": "resize", "cols": {n}, "rows": 1}}'),
)
RAW_BYTES = st.one_of(
    RAW_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
)


def assert_refusal(exc: ProtocolError, *codes: ErrorCode) -> None:
    assert exc.code in (codes or (ErrorCode.BAD_REQUEST,)), exc.code
    assert isinstance(exc.message, str) and exc.message


@settings(max_examples=200)
@given(RAW_TEXT | RAW_BYTES)
def test_any_client_frame_is_a_message_or_a_bad_request(frame: str | bytes) -> None:
    try:
        message = protocol.parse_client_message(frame)
    except ProtocolError as exc:
        assert_refusal(exc)
        return
    assert isinstance(message, (*protocol.INPUT_MESSAGES, protocol.JoinMessage, RunRequest))
    if isinstance(message, RunRequest):
        assert (message.files is None) != (message.source is None)
        assert all("\x00" not in arg for arg in message.args)


@settings(max_examples=200)
@given(CLIENT_MESSAGES)
def test_any_near_miss_of_a_client_message_is_a_message_or_a_bad_request(obj: dict[str, Any]) -> None:
    try:
        message = protocol.parse_client_message(encoded(obj))
    except ProtocolError as exc:
        assert_refusal(exc)
        return
    assert message.__struct_config__.tag == obj["type"]


@settings(max_examples=200)
@given(near_miss(ClientType.RUN, RUN_FIELDS).map(encoded) | RAW_BYTES)
def test_any_execute_body_is_planned_or_refused_before_a_sandbox_exists(body: bytes) -> None:
    """/api/v1/execute: parsing, then planning (language, files, limits) against the real catalogue."""
    try:
        run = rest.parse_execute(body)
        plan = plan_run(run, CATALOGUE, POLICY)
    except ProtocolError as exc:
        assert_refusal(exc, ErrorCode.BAD_REQUEST, ErrorCode.UNKNOWN_LANGUAGE, ErrorCode.LIMIT_EXCEEDED)
        return
    assert not run.tty
    for file in plan.files:  # the agent checks them again before it writes: it must never refuse one
        protocol.check_file_name(file.name)


@settings(max_examples=100)
@given(JAVA_SOURCE)
def test_a_file_named_after_the_source_is_planned_under_a_valid_name_or_refused(source: str) -> None:
    """Java's single `source` is written to a file named after its public class: a name the client chose."""
    try:
        plan = plan_run(RunRequest(language="java", source=source), CATALOGUE, POLICY)
    except ProtocolError as exc:
        assert_refusal(exc)
        return
    protocol.check_file_name(plan.files[0].name)


def piston_content(encoding: str) -> st.SearchStrategy[str]:
    """What a Piston client puts in `content` for an encoding: well encoded text, bytes, or garbage."""
    raw = st.binary(max_size=12) | st.text(max_size=12).map(str.encode)
    if encoding == "base64":
        return raw.map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=8)
    if encoding == "hex":
        return raw.map(bytes.hex) | st.text(max_size=8)
    return st.text(max_size=12)


PISTON_FILE = st.sampled_from([*piston.ENCODINGS, "utf-8", ""]).flatmap(
    lambda encoding: st.fixed_dictionaries(
        {"content": piston_content(encoding)}, optional={"encoding": st.just(encoding), "name": FILE_NAMES | st.none()}
    )
)
PISTON_NUMBERS = st.none() | st.integers(-2, 10**12) | st.floats(allow_nan=False, allow_infinity=False) | JSON
PISTON_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "language": LANGUAGES | JSON,
    "version": st.sampled_from(["*", "3.x", "15.10.0", ">=1 <2", "", "x.y", "^99", "3.11.2 || 5"])
    | st.text(max_size=12)
    | JSON,
    "files": st.lists(PISTON_FILE, max_size=3) | JSON,
    "stdin": st.none() | st.text(max_size=5) | JSON,
    "args": st.none() | st.lists(st.text(max_size=5), max_size=3) | JSON,
    **{name: PISTON_NUMBERS for name in (*piston.MILLISECOND_LIMITS, *piston.BYTE_LIMITS)},
}


@settings(max_examples=200)
@given(
    st.fixed_dictionaries(
        {"language": PISTON_FIELDS["language"], "files": PISTON_FIELDS["files"]},
        optional={k: v for k, v in PISTON_FIELDS.items() if k not in ("language", "files")},
    ).map(encoded)
    | RAW_BYTES
)
def test_any_piston_body_is_planned_or_refused_before_a_sandbox_exists(body: bytes) -> None:
    """/api/v2/execute: Piston's body translated, validated and planned, or refused."""
    try:
        run = piston.parse_execute(body, CATALOGUE)
        plan = plan_run(run, CATALOGUE, POLICY)
    except ProtocolError as exc:
        assert_refusal(exc, ErrorCode.BAD_REQUEST, ErrorCode.UNKNOWN_LANGUAGE, ErrorCode.LIMIT_EXCEEDED)
        return
    for file in plan.files:
        protocol.check_file_name(file.name)
