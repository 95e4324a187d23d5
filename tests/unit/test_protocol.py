"""Client message parsing and server message building: every rule without a network."""

from __future__ import annotations

import json

import pytest

from padbox.core import events, protocol
from padbox.core.events import (
    Error,
    Exited,
    FileEntry,
    Presence,
    Queued,
    Snapshot,
    StageBegan,
    Started,
    Stderr,
    Stdout,
    Typed,
)
from padbox.core.protocol import (
    EofMessage,
    ErrorCode,
    JoinMessage,
    ProtocolError,
    ResizeMessage,
    Role,
    RunRequest,
    Signal,
    SignalMessage,
    Stage,
    StdinMessage,
    Verdict,
    parse_client_message,
)


def parse(obj: object) -> object:
    return parse_client_message(json.dumps(obj))


def test_run_with_files_keeps_order_and_fields() -> None:
    msg = parse(
        {
            "type": "run",
            "language": "c",
            "files": [{"name": "main.c", "content": "x"}, {"name": "lib/util.h", "content": "y"}],
            "args": ["1"],
            "stdin": "in",
            "tty": True,
            "cols": 100,
            "rows": 30,
            "limits": {"memory_mb": 64},
        }
    )
    assert isinstance(msg, RunRequest)
    assert [f.name for f in msg.files or ()] == ["main.c", "lib/util.h"]
    assert (msg.args, msg.stdin, msg.tty, msg.cols, msg.rows) == (("1",), "in", True, 100, 30)
    assert msg.limits == {"memory_mb": 64}


def test_run_with_source_has_defaults() -> None:
    msg = parse({"type": "run", "language": "python", "source": "print(1)"})
    assert isinstance(msg, RunRequest)
    assert (msg.files, msg.source, msg.tty, msg.cols, msg.rows, msg.stdin) == (None, "print(1)", False, 80, 24, "")


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ([], "JSON object"),
        ({"type": "run", "language": "c"}, "'files' or 'source'"),
        ({"type": "run", "language": "c", "source": "", "files": [{"name": "a", "content": ""}]}, "not both"),
        ({"type": "run", "language": "c", "files": []}, "non-empty"),
        ({"type": "run", "language": "c", "files": ["a"]}, "object"),
        ({"type": "run", "language": "c", "files": [{"name": "a"}]}, "'files[0].content' is required"),
        ({"type": "run", "language": "c", "files": [{"name": "a", "content": ""}] * 2}, "twice"),
        ({"type": "run", "language": "c", "files": [{"name": "a/../b", "content": ""}]}, ".."),
        ({"type": "run", "language": "c", "files": [{"name": "./a", "content": ""}]}, ".."),
        ({"type": "run", "language": "c", "files": [{"name": "a//b", "content": ""}]}, "empty path parts"),
        ({"type": "run", "language": "c", "files": [{"name": "a\\b", "content": ""}]}, "backslash"),
        ({"type": "run", "language": "c", "source": "", "tty": "yes"}, "'tty' must be a boolean"),
        ({"type": "run", "language": "c", "source": "", "cols": 0}, "'cols'"),
        ({"type": "run", "language": "c", "source": "", "cols": True}, "'cols' must be an integer"),
        ({"type": "run", "language": "c", "source": "", "args": [1]}, "'args[0]' must be a string"),
        ({"type": "run", "language": "c", "source": "", "limits": []}, "'limits'"),
        ({"type": "stdin"}, "'data'"),
        ({"type": "signal", "signal": "SIGSTOP"}, "SIGINT"),
        ({"type": "resize", "cols": 10}, "'rows'"),
        ({"type": None}, "unknown message type"),
    ],
)
def test_malformed_messages_are_bad_requests_that_say_why(obj: object, fragment: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(obj)
    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"type": "run", "language": "c", "files": [{"name": "a"}]}, "field 'files[0].content' is required"),
        ({"type": "run", "language": "", "source": ""}, "field 'language' must not be empty"),
        (
            {"type": "run", "language": "c", "source": "", "cols": 1001},
            "field 'cols' must be an integer from 1 to 1000",
        ),
        (
            {"type": "run", "language": "c", "source": "", "args": ["x"] * 65},
            "field 'args' must be a list of at most 64 items",
        ),
        (
            {"type": "run", "language": "c", "source": "", "args": ["a", "b\x00"]},
            "field 'args[1]' must not contain a NUL byte",
        ),
        ({"type": "run", "language": "c", "source": 5}, "field 'source' must be a string"),
        ({"type": "signal", "signal": "SIGSTOP"}, "field 'signal' must be one of SIGINT, SIGTERM, SIGKILL"),
        ({"type": "join", "id": "r", "key": "k", "role": "boss"}, "field 'role' must be one of driver, viewer"),
        ({"type": "join", "id": "", "key": "k"}, "field 'id' must not be empty"),
        ({"type": "dance"}, "unknown message type; 'type' must be one of run, stdin, eof, signal, resize, join"),
        ({"data": "x"}, "unknown message type; 'type' must be one of run, stdin, eof, signal, resize, join"),
    ],
)
def test_a_refusal_names_the_field_and_what_it_must_be(obj: object, message: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(obj)
    assert (caught.value.code, caught.value.message) == (ErrorCode.BAD_REQUEST, message)


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "",
        "[" * 100000,
        '{"type": "run", "language": "c", "source": "", "limits": {"memory_mb": NaN}}',
        '{"type": "stdin", "data": "\\ud800"}',
    ],
)
def test_text_that_is_not_json_is_a_bad_request(text: str) -> None:
    """NaN is not JSON, nor is a lone surrogate escape; deep nesting is refused before it is followed."""
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(text)
    assert caught.value.code is ErrorCode.BAD_REQUEST
    assert caught.value.message in ("message is not valid JSON", "message must be a JSON object")


def test_a_number_past_a_double_is_refused_while_decoding() -> None:
    with pytest.raises(ProtocolError, match="field 'limits' holds a number out of range"):
        parse_client_message('{"type": "run", "language": "c", "source": "", "limits": {"pids": 1e999}}')


def test_a_join_names_the_run_and_its_key_and_watches_unless_asked_to_drive() -> None:
    assert parse({"type": "join", "id": "r1", "key": "k"}) == JoinMessage("r1", "k", Role.VIEWER)
    assert parse({"type": "join", "id": "r1", "key": "k", "role": "driver"}) == JoinMessage("r1", "k", Role.DRIVER)


def test_parse_run_takes_a_decoded_object_whose_type_may_be_left_out() -> None:
    assert protocol.parse_run({"language": "c", "source": ""}).language == "c"
    with pytest.raises(ProtocolError, match="field 'type' may only be 'run'"):
        protocol.parse_run({"type": "stdin", "language": "c", "source": ""})
    with pytest.raises(ProtocolError, match="'files' or 'source'"):
        protocol.parse_run({"language": "c"})


def test_input_messages() -> None:
    assert parse({"type": "stdin", "data": "é"}) == StdinMessage("é")
    assert parse({"type": "eof"}) == EofMessage()
    assert parse({"type": "signal", "signal": "SIGKILL"}) == SignalMessage(Signal.SIGKILL)
    assert parse({"type": "resize", "cols": 120, "rows": 40}) == ResizeMessage(120, 40)
    assert Signal.SIGINT.number == 2


def test_server_messages_are_valid_json_with_the_documented_fields() -> None:
    result = Exited(Stage.RUN, 0, None, Verdict.OK, 12, 9, 7340032)
    exit_frame = json.loads(events.encode(result))
    assert exit_frame == {
        "type": "exit",
        "stage": "run",
        "code": 0,
        "signal": None,
        "verdict": "ok",
        "wall_ms": 12,
        "cpu_ms": 9,
        "memory_bytes": 7340032,
    }
    out = json.loads(events.encode(Stderr(Stage.COMPILE, "\x00é\ufffd")))
    assert out == {"type": "stderr", "stage": "compile", "data": "\x00é\ufffd"}
    assert json.loads(events.encode(Error(ErrorCode.BUSY, "later"))) == {
        "type": "error",
        "code": "busy",
        "message": "later",
    }
    assert json.loads(events.encode(Error(ErrorCode.BUSY, "later", 5)))["retry_after_s"] == 5


def test_every_server_event_reads_back_as_itself() -> None:
    for event in (
        Started("abc", "python", "3.11", driver_key="k", viewer_key="v"),
        Started("abc", "python", "3.11"),
        StageBegan(Stage.COMPILE),
        Stdout(Stage.RUN, "hi"),
        Stderr(Stage.RUN, "oops"),
        Exited(Stage.RUN, None, "SIGKILL", Verdict.TIMEOUT, 1, None, None),
        Queued(3),
        Presence(1, 2),
        Typed("x"),
        Error(ErrorCode.INTERNAL, "gone"),
        Snapshot(
            "abc",
            Role.VIEWER,
            "python",
            "3.11",
            (FileEntry("a.py", "1"),),
            {"memory_mb": 64},
            False,
            Stage.RUN,
            (Stdout(Stage.RUN, "hi"), Typed("x")),
            0,
        ),
    ):
        assert events.decode(events.encode(event)) == event
    assert not {"driver_key", "viewer_key"} & set(json.loads(events.encode(Started("abc", "python", "3.11"))))
