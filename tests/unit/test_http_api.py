"""The HTTP API's pure parts: body rules, answers folded from session messages, HTTP statuses, the
session log line, metrics and the OpenAPI document."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

import msgspec
import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Route

from padbox.assembly import assemble
from padbox.config import SHIPPED_MANIFEST, Settings
from padbox.core import protocol
from padbox.core.access import ClientBusy
from padbox.core.capacity import Busy, Capacity
from padbox.core.events import Error, Exited, StageBegan, Started, Stderr, Stdout
from padbox.core.languages import Catalogue
from padbox.core.protocol import ErrorCode, ProtocolError, Stage, Verdict
from padbox.core.runner import Readiness
from padbox.core.session import Session, plan_run
from padbox.core.transcript import RunRecord
from padbox.telemetry.metrics import Metrics
from padbox.telemetry.session_log import SessionLog, outcome
from padbox.web import http_runs, piston, rest
from padbox.web.answers import ExecuteResponse, LanguageInfo, ReadinessReport, answer
from padbox.web.health import readiness_body
from padbox.web.openapi import document
from padbox.web.routes import http_routes
from padbox.web.semver import MAX_SELECTOR_LENGTH

SETTINGS = Settings.from_env({})
CATALOGUE = Catalogue.load(SHIPPED_MANIFEST)


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def sent(value: msgspec.Struct | list[Any]) -> Any:
    """An answer as its client reads it: the response body, decoded."""
    return json.loads(answer(value).body)


def test_an_execute_body_is_a_run_message_without_its_type() -> None:
    run = rest.parse_execute(body({"language": "python", "source": "print(1)", "stdin": "x", "limits": {"pids": 16}}))
    assert (run.language, run.source, run.stdin, run.limits) == ("python", "print(1)", "x", {"pids": 16})
    assert rest.parse_execute(body({"type": "run", "language": "c", "source": ""})).language == "c"


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ([], "JSON object"),
        ({"type": "stdin", "language": "python", "source": "x"}, "'type' may only be 'run'"),
        ({"source": "x"}, "'language' is required"),
        ({"language": "python"}, "'files' or 'source'"),
        ({"language": 3, "source": "x"}, "'language' must be a string"),
        ({"language": "python", "source": "x", "args": "a b"}, "'args'"),
        ({"language": "python", "source": "x", "tty": True}, "use the WebSocket"),
        ({"language": "python", "source": "x", "cols": 0}, "'cols' must be an integer from 1 to 1000"),
    ],
)
def test_bad_bodies_are_bad_requests(obj: Any, fragment: str) -> None:
    with pytest.raises(ProtocolError, match=fragment) as caught:
        rest.parse_execute(body(obj))
    assert http_runs.status_for(caught.value) == 400


def test_a_body_that_is_not_json_is_a_bad_request() -> None:
    for text in (b"{not json", b'{"language": "python", "source": "x", "limits": {"pids": NaN}}', b"\xff"):
        with pytest.raises(ProtocolError, match="the request body is not valid JSON"):
            rest.parse_execute(text)


def test_statuses_follow_the_error_codes() -> None:
    assert http_runs.status_for(ProtocolError(ErrorCode.UNKNOWN_LANGUAGE, "x")) == 404
    assert http_runs.status_for(ProtocolError(ErrorCode.LIMIT_EXCEEDED, "x")) == 400
    assert http_runs.status_for(ProtocolError(ErrorCode.INTERNAL, "x")) == 500
    assert http_runs.status_for(ProtocolError(ErrorCode.UNAUTHORIZED, "x")) == 401
    assert http_runs.status_for(ProtocolError(ErrorCode.FORBIDDEN_ORIGIN, "x")) == 403
    assert http_runs.status_for(ProtocolError(ErrorCode.SANDBOX_LOST, "x")) == 502, "a gateway's failure: retry"
    assert set(http_runs.STATUS_FOR_ERROR) == set(ErrorCode), "every error code has its status"
    full, over = Busy("the server is at capacity", 5), ClientBusy("this client already has 8", 1)
    assert (http_runs.status_for(full), http_runs.refusal_headers(full)) == (503, {"Retry-After": "5"})
    assert (http_runs.status_for(over), http_runs.refusal_headers(over)) == (429, {"Retry-After": "1"})
    unauthorized = ProtocolError(ErrorCode.UNAUTHORIZED, "a valid API token is required")
    assert http_runs.refusal_headers(unauthorized) == {"WWW-Authenticate": 'Bearer realm="padbox"'}


def compiled_run() -> RunRecord:
    t = RunRecord()
    for event in (
        Started("abc", "c", "12.2.0"),
        StageBegan(Stage.COMPILE),
        Stderr(Stage.COMPILE, "warning\n"),
        Exited(Stage.COMPILE, 0, None, Verdict.OK, 30, 20, 1000),
        StageBegan(Stage.RUN),
        Stdout(Stage.RUN, "a"),
        Stderr(Stage.RUN, "b"),
        Stdout(Stage.RUN, "c"),
        Exited(Stage.RUN, 3, None, Verdict.RUNTIME_ERROR, 5, 4, 2000),
    ):
        t.add(event)
    return t


def test_the_answer_has_each_stage_with_its_output_and_exit_fields() -> None:
    answer = sent(rest.execute_answer(compiled_run()))
    assert (answer["id"], answer["language"], answer["version"], answer["verdict"]) == (
        "abc",
        "c",
        "12.2.0",
        "runtime_error",
    )
    assert answer["compile"] == {
        "stdout": "",
        "stderr": "warning\n",
        "code": 0,
        "signal": None,
        "verdict": "ok",
        "wall_ms": 30,
        "cpu_ms": 20,
        "memory_bytes": 1000,
    }
    assert answer["run"] == {
        "stdout": "ac",
        "stderr": "b",
        "code": 3,
        "signal": None,
        "verdict": "runtime_error",
        "wall_ms": 5,
        "cpu_ms": 4,
        "memory_bytes": 2000,
    }


def test_an_interpreted_run_has_no_compile_stage_and_an_error_is_a_failure() -> None:
    t = RunRecord()
    t.add(Started("abc", "python", "3.11.2"))
    assert sent(rest.execute_answer(t))["compile"] is None and t.error is None
    t.add(Error(ErrorCode.BUSY, "full", 5))
    assert t.error is not None
    failure = t.error.problem()
    assert (failure.code, failure.retry_after_s) == (ErrorCode.BUSY, 5)


def session(source: str = "print(1)") -> Session:
    request = protocol.parse_run({"language": "python", "source": source, "stdin": "secret input"})
    return Session(plan_run(request, CATALOGUE, SETTINGS.limits), emit=cast(Any, None), client="ip:10.0.0.1")


def test_outcome_is_the_last_verdict_the_error_or_abandoned() -> None:
    s = session()
    assert outcome(s) == "abandoned"
    s.results.append(Exited(Stage.RUN, 0, None, Verdict.OK, 1, 1, 1))
    assert outcome(s) == "ok"
    s.error = ProtocolError(ErrorCode.INTERNAL, "the sandbox failed")
    assert outcome(s) == "internal"


def test_the_log_line_leaves_out_source_input_and_output_unless_asked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.padbox.sessions")
    s = session("print('top secret source')")
    log = SessionLog(include_content=False, logger=logger)
    log.event(s, Stdout(Stage.RUN, "top secret output"))
    s.results.append(Exited(Stage.RUN, 0, None, Verdict.OK, 10, 9, 8))
    with caplog.at_level(logging.INFO, logger="test.padbox.sessions"):
        log.finished(s)
    line = json.loads(caplog.records[-1].getMessage())
    assert (line["event"], line["id"], line["language"], line["outcome"]) == ("session", s.id, "python", "ok")
    assert line["stdout_bytes"] == len("top secret output") and line["stdin_bytes"] == len("secret input")
    assert line["stages"] == [
        {"stage": "run", "code": 0, "signal": None, "verdict": "ok", "wall_ms": 10, "cpu_ms": 9, "memory_bytes": 8}
    ]
    assert "secret" not in caplog.records[-1].getMessage()


def test_debug_logging_carries_the_content(caplog: pytest.LogCaptureFixture) -> None:
    s = session("print('src')")
    log = SessionLog(include_content=True, logger=logging.getLogger("test.padbox.debug"))
    log.event(s, Stdout(Stage.RUN, "out"))
    with caplog.at_level(logging.INFO, logger="test.padbox.debug"):
        log.finished(s)
    line = json.loads(caplog.records[-1].getMessage())
    assert line["source"] == [{"name": "main.py", "content": "print('src')"}]
    assert (line["stdin"], line["output"]) == ("secret input", "out")


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_sessions_stages_first_output_and_docker_errors() -> None:
    capacity = Capacity(4, 8)
    metrics = Metrics(capacity, None)
    s = session()
    for event in (
        Started("abc", "python", "3.11.2"),
        StageBegan(Stage.RUN),
        Stdout(Stage.RUN, "1\n"),
        Stdout(Stage.RUN, "2\n"),
        Exited(Stage.RUN, 0, None, Verdict.OK, 250, 9, 8),
    ):
        metrics.event(s, event)
    s.results.append(Exited(Stage.RUN, 0, None, Verdict.OK, 250, 9, 8))
    metrics.finished(s)
    broken = session()
    metrics.event(broken, Error(ErrorCode.INTERNAL, "the sandbox failed"))
    broken.error = ProtocolError(ErrorCode.INTERNAL, "the sandbox failed")
    metrics.finished(broken)
    found = samples(metrics)
    python = (("language", "python"),)
    assert found[("padbox_sessions_started_total", python)] == 1
    assert found[("padbox_sessions_finished_total", (("language", "python"), ("verdict", "ok")))] == 1
    assert found[("padbox_sessions_finished_total", (("language", "python"), ("verdict", "internal")))] == 1
    assert found[("padbox_stage_duration_seconds_sum", (("language", "python"), ("stage", "run")))] == 0.25
    assert found[("padbox_time_to_first_output_seconds_count", python)] == 1  # once per session
    assert found[("padbox_docker_errors_total", ())] == 1
    assert found[("padbox_sessions_limit", ())] == 4
    assert found[("padbox_queue_length", ())] == 0 and found[("padbox_pool_ready", ())] == 0


def test_the_openapi_document_describes_every_http_route() -> None:
    doc = document(SETTINGS.limits, SETTINGS.max_message_bytes)
    assembly = assemble(SETTINGS)
    every = http_routes(assembly.served)
    routes = {route.path for route in every if isinstance(route, Route)}
    assert set(doc["paths"]) == routes
    assert doc["openapi"].startswith("3.1")
    validate(json.loads(json.dumps(doc)))  # OpenAPI 3.1's own schema, on the document as served


def test_the_openapi_document_lists_the_status_of_every_error_code() -> None:
    doc = document(SETTINGS.limits, SETTINGS.max_message_bytes)
    for path, status_for in (("/api/v1/execute", http_runs.status_for), ("/api/v2/execute", piston.status_for)):
        documented = set(doc["paths"][path]["post"]["responses"])
        statuses = {str(status_for(ProtocolError(code, "x"))) for code in ErrorCode}
        assert statuses <= documented, f"{path} does not document {statuses - documented}"
    assert "sandbox_lost" in doc["components"]["schemas"]["ErrorCode"]["enum"]


def refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node))
    return set()


def test_the_openapi_schemas_come_from_the_types_and_the_limit_policy() -> None:
    doc = document(SETTINGS.limits, SETTINGS.max_message_bytes)
    schemas = doc["components"]["schemas"]
    assert refs(doc) == {f"#/components/schemas/{name}" for name in schemas}  # all resolve, all are used
    assert set(schemas["Verdict"]["enum"]) == {v.value for v in Verdict}
    assert set(schemas["ErrorCode"]["enum"]) == {c.value for c in ErrorCode}
    execute = schemas["ExecuteRequest"]
    assert execute["required"] == ["language"] and "tty" not in execute["properties"]
    assert execute["properties"]["files"]["anyOf"][0]["maxItems"] == protocol.MAX_FILES
    assert execute["properties"]["limits"]["$ref"] == "#/components/schemas/Limits"
    limits = schemas["Limits"]["properties"]
    assert limits["run_timeout_s"]["maximum"] == SETTINGS.limits.maxima.run_timeout_s
    assert schemas["PistonExecuteRequest"]["properties"]["version"]["maxLength"] == MAX_SELECTOR_LENGTH


def test_each_answer_the_server_sends_decodes_as_its_documented_type() -> None:
    """The answers are the types the OpenAPI document shows; their bodies decode strictly back into them, so
    a value of the wrong type (a null where the document says a string) fails here."""
    interpreted = RunRecord()
    interpreted.add(Started("abc", "python", "3.11.2"))
    for record in (compiled_run(), interpreted):
        built = rest.execute_answer(record)
        assert msgspec.json.decode(answer(built).body, type=ExecuteResponse) == built
    listing = rest.languages(CATALOGUE)
    assert msgspec.json.decode(answer(listing).body, type=list[LanguageInfo]) == listing
    for state in (Readiness(True, True, True, False), Readiness(True, False, False, True)):
        report = readiness_body(state, "padbox-runner")
        assert msgspec.json.decode(answer(report).body, type=ReadinessReport) == report


def test_a_run_that_ended_without_starting_is_the_servers_failure() -> None:
    with pytest.raises(ProtocolError) as caught:
        rest.execute_answer(RunRecord())
    assert caught.value.code is ErrorCode.INTERNAL
    with pytest.raises(ProtocolError):
        piston.execute_answer(RunRecord())
