"""Piston translation without Docker: requests from Piston's docs/api-v2.md become run requests; a
session's messages become Piston's answer."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import pytest

from padbox.config import SHIPPED_MANIFEST
from padbox.core.events import Exited, StageBegan, Started, Stderr, Stdout
from padbox.core.languages import Catalogue
from padbox.core.protocol import ErrorCode, ProtocolError, RunRequest, ServerType, Stage, Verdict
from padbox.core.transcript import RunRecord
from padbox.web import piston
from padbox.web.answers import PistonExecuteResponse, PistonRuntime, answer

CATALOGUE = Catalogue.load(SHIPPED_MANIFEST).with_versions(
    {"javascript": "15.10.0", "python": "3.11.2", "c": "12.2.0", "bash": "5.2.15"}
)

# The execute example in Piston's docs/api-v2.md, verbatim.
DOCUMENTED_REQUEST: dict[str, Any] = {
    "language": "js",
    "version": "15.10.0",
    "files": [{"name": "my_cool_code.js", "content": "console.log(process.argv)"}],
    "stdin": "",
    "args": ["1", "2", "3"],
    "compile_timeout": 10000,
    "run_timeout": 3000,
    "compile_memory_limit": -1,
    "run_memory_limit": -1,
}


def sent(value: msgspec.Struct | list[Any]) -> Any:
    """An answer as its client reads it: the response body, decoded."""
    return json.loads(answer(value).body)


def transcript(*stages: tuple[Stage, list[tuple[ServerType, str]], Exited]) -> RunRecord:
    t = RunRecord()
    t.add(Started("abc", "c", "12.2.0"))
    for stage, chunks, result in stages:
        t.add(StageBegan(stage))
        for stream, data in chunks:
            t.add(Stdout(stage, data) if stream is ServerType.STDOUT else Stderr(stage, data))
        t.add(result)
    return t


def ended(stage: Stage, verdict: Verdict, code: int | None = 0, signal: str | None = None) -> Exited:
    return Exited(stage, code, signal, verdict, wall_ms=12, cpu_ms=9, memory_bytes=7340032)


def parse(request: dict[str, Any], catalogue: Catalogue) -> RunRequest:
    return piston.parse_execute(json.dumps(request).encode(), catalogue)


def test_the_documented_request_becomes_a_run() -> None:
    run = parse(DOCUMENTED_REQUEST, CATALOGUE)
    assert run.language == "javascript"
    assert [(f.name, f.content) for f in run.files or ()] == [("my_cool_code.js", "console.log(process.argv)")]
    assert run.args == ("1", "2", "3")
    assert run.stdin == "\n"  # Piston ends stdin with a newline
    assert run.limits == {"compile_timeout_s": 10.0, "run_timeout_s": 3.0}  # -1 memory: the server's default


def test_version_is_a_semver_selector_and_a_mismatch_is_an_unknown_runtime() -> None:
    for version in ("*", "15.x", "^15", "15.10.0"):
        assert parse({**DOCUMENTED_REQUEST, "version": version}, CATALOGUE).language == "javascript"
    with pytest.raises(ProtocolError, match="js-16.x runtime is unknown") as caught:
        parse({**DOCUMENTED_REQUEST, "version": "16.x"}, CATALOGUE)
    assert piston.status_for(caught.value) == 400  # Piston's status, not /api/v1's 404
    with pytest.raises(ProtocolError, match="runtime is unknown"):
        parse({**DOCUMENTED_REQUEST, "language": "brainfudge"}, CATALOGUE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"language": None}, "language is required as a string"),
        ({"version": 15}, "version is required as a string"),
        ({"files": "print(1)"}, "files is required as an array"),
        ({"files": [{"name": "a.js"}]}, r"files\[0\].content is required as a string"),
        ({"files": [{"content": "eA==", "encoding": "base64"}]}, "at least one utf8 encoded file"),
        ({"files": [{"content": "x", "encoding": "base64"}]}, "not valid base64"),
        ({"files": [{"content": "ff", "encoding": "hex"}, {"content": "x"}]}, "not UTF-8 text"),
        ({"run_timeout": "3s"}, "run_timeout must be a number"),
        ({"compile_memory_limit": -5}, "compile_memory_limit must be non-negative"),
        ({"files": [{"name": "../etc/passwd", "content": "x"}]}, "must not contain"),
        ({"args": [1, 2]}, "args"),
        ({"version": "1" * 257}, "field 'version' must be at most 256 characters long"),
        ({"files": [{"content": "x"}] * 65}, "field 'files' must be a list of at most 64 items"),
        ({"stdin": 5}, "field 'stdin' must be a string"),
    ],
)
def test_mistakes_are_refused_with_pistons_messages(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProtocolError, match=message) as caught:
        parse({**DOCUMENTED_REQUEST, **change}, CATALOGUE)
    assert piston.status_for(caught.value) == 400


def test_unnamed_files_are_named_and_the_first_utf8_file_is_the_entry_point() -> None:
    data = base64.b64encode(b"42\n").decode()
    run = parse(
        {
            "language": "python",
            "version": "3.x",
            "files": [
                {"content": data, "encoding": "base64"},
                {"content": "print(open('file0.code').read())"},
                {"content": "x = 1"},
            ],
        },
        CATALOGUE,
    )
    assert [(f.name, f.content) for f in run.files or ()] == [
        ("main.py", "print(open('file0.code').read())"),
        ("file0.code", "42\n"),
        ("file2.code", "x = 1"),
    ]


def test_an_unknown_encoding_is_read_as_utf8_as_piston_does() -> None:
    run = parse({**DOCUMENTED_REQUEST, "files": [{"content": "print(1)", "encoding": "utf-8"}]}, CATALOGUE)
    assert [(f.name, f.content) for f in run.files or ()] == [("main.js", "print(1)")]


def test_limits_in_milliseconds_and_bytes_become_padbox_limits() -> None:
    run = parse(
        {
            **DOCUMENTED_REQUEST,
            "run_timeout": 1500,
            "compile_cpu_time": 2000,
            "run_cpu_time": 3000,
            "run_memory_limit": 100_000_000,
            "compile_memory_limit": 0,
        },
        CATALOGUE,
    )
    assert run.limits == {"compile_timeout_s": 10.0, "run_timeout_s": 1.5, "cpu_time_s": 3.0, "memory_mb": 96}


def test_stdin_keeps_a_final_newline_it_already_has() -> None:
    assert parse({**DOCUMENTED_REQUEST, "stdin": "a\nb\n"}, CATALOGUE).stdin == "a\nb\n"
    assert parse({**DOCUMENTED_REQUEST, "stdin": "a\nb"}, CATALOGUE).stdin == "a\nb\n"


def test_an_interpreted_run_answers_like_the_documented_response() -> None:
    t = transcript(
        (
            Stage.RUN,
            [(ServerType.STDOUT, "out\n"), (ServerType.STDERR, "err\n"), (ServerType.STDOUT, "more\n")],
            ended(Stage.RUN, Verdict.OK),
        )
    )
    answer = sent(piston.execute_answer(t))
    assert set(answer) == {"language", "version", "run"}
    assert (answer["language"], answer["version"]) == ("c", "12.2.0")
    run = answer["run"]
    assert {"stdout", "stderr", "output", "code", "signal"} <= set(run)
    assert (run["stdout"], run["stderr"], run["output"]) == ("out\nmore\n", "err\n", "out\nerr\nmore\n")
    assert (run["code"], run["signal"], run["status"], run["message"]) == (0, None, None, None)
    assert (run["wall_time"], run["cpu_time"], run["memory"]) == (12, 9, 7340032)


def test_a_failed_compile_is_also_the_run_as_piston_answers_it() -> None:
    t = transcript(
        (
            Stage.COMPILE,
            [(ServerType.STDERR, "error: x undeclared\n")],
            ended(Stage.COMPILE, Verdict.COMPILE_ERROR, code=1),
        )
    )
    answer = sent(piston.execute_answer(t))
    assert answer["compile"]["code"] == 1 and answer["compile"]["stderr"] == "error: x undeclared\n"
    assert answer["run"] == answer["compile"]
    assert (answer["run"]["status"], answer["run"]["message"]) == ("RE", "Exited with error status 1")


@pytest.mark.parametrize(
    ("verdict", "code", "signal", "status"),
    [
        (Verdict.RUNTIME_ERROR, 3, None, "RE"),
        (Verdict.RUNTIME_ERROR, None, "SIGSEGV", "SG"),
        (Verdict.TIMEOUT, None, "SIGKILL", "TO"),
        (Verdict.OUTPUT_LIMIT, None, "SIGKILL", "OL"),
        (Verdict.MEMORY_LIMIT, None, "SIGKILL", "SG"),
        (Verdict.KILLED, None, "SIGINT", "SG"),
    ],
)
def test_verdicts_become_pistons_status_codes(
    verdict: Verdict, code: int | None, signal: str | None, status: str
) -> None:
    t = transcript(
        (Stage.COMPILE, [], ended(Stage.COMPILE, Verdict.OK)), (Stage.RUN, [], ended(Stage.RUN, verdict, code, signal))
    )
    run = sent(piston.execute_answer(t))["run"]
    assert (run["code"], run["signal"], run["status"]) == (code, signal, status)
    if signal == "SIGSEGV":
        assert run["message"] == "Caught fatal signal 11"


def test_runtimes_list_language_version_and_aliases() -> None:
    runtimes = {r["language"]: r for r in sent(piston.runtimes(CATALOGUE))}
    assert runtimes["javascript"] == {
        "language": "javascript",
        "version": "15.10.0",
        "aliases": list(CATALOGUE.resolve("js").aliases),
    }
    assert "js" in runtimes["javascript"]["aliases"]


def test_each_answer_decodes_as_its_documented_type() -> None:
    """The answers are the types the OpenAPI document shows; their bodies decode strictly back into them."""
    interpreted = transcript((Stage.RUN, [(ServerType.STDOUT, "out\n")], ended(Stage.RUN, Verdict.OK)))
    failed = transcript((Stage.COMPILE, [], ended(Stage.COMPILE, Verdict.COMPILE_ERROR, code=1)))
    for built in (piston.execute_answer(interpreted), piston.execute_answer(failed)):
        assert msgspec.json.decode(answer(built).body, type=PistonExecuteResponse) == built
    listing = piston.runtimes(CATALOGUE)
    assert msgspec.json.decode(answer(listing).body, type=list[PistonRuntime]) == listing


def test_busy_and_internal_keep_their_http_statuses() -> None:
    assert piston.status_for(ProtocolError(ErrorCode.INTERNAL, "x")) == 500
    assert piston.status_for(ProtocolError(ErrorCode.SANDBOX_LOST, "x")) == 502
    assert piston.status_for(ProtocolError(ErrorCode.LIMIT_EXCEEDED, "x")) == 400
