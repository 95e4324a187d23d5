"""What the HTTP API answers, as types: the execute answers of /api/v1 and /api/v2, Piston's error body,
the listings, readiness, the cluster's nodes and the question bank's answers (/api/v1's error body is the
WebSocket's `error` event, events.Error; the pads' answers, and their refusal, are in pads/messages.py).

These types are the answers themselves: each endpoint builds one and sends it with `answer`, which encodes
it with msgspec. The OpenAPI document (openapi.py) is generated from the same types, next to the request
types in core/protocol.py and piston.py, so a field cannot be sent one way and documented another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from starlette.responses import Response

from padbox.core.protocol import Verdict
from padbox.questions import markdown
from padbox.questions.model import Difficulty, Question
from padbox.questions.test_runs import CaseResult

_encoder = msgspec.json.Encoder()


def answer(
    value: msgspec.Struct | Sequence[msgspec.Struct], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """An HTTP answer: the typed value (or a list of them) as JSON, encoded by msgspec."""
    return Response(_encoder.encode(value), status, headers, media_type="application/json")


PistonStatus = Literal["RE", "SG", "TO", "OL", "XX"]  # runtime error, signal, timeout, output limit, internal
NullableMs = Annotated[int | None, Meta(description="Milliseconds; null when not measured.")]


class ExecuteStage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stage of a run: its output and the fields of its `exit` message."""

    stdout: str
    stderr: str
    code: Annotated[int | None, Meta(description="Exit status; null when a signal ended the program.")]
    signal: Annotated[str | None, Meta(examples=["SIGKILL"])]
    verdict: Verdict
    wall_ms: int
    cpu_ms: NullableMs
    memory_bytes: Annotated[int | None, Meta(description="Peak memory, bytes.")]


class ExecuteResponse(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The answer of POST /api/v1/execute: the run ended, whatever its verdict."""

    id: str
    language: Annotated[str, Meta(description="The resolved language id.")]
    version: str
    verdict: Annotated[Verdict | None, Meta(description="The last stage's verdict.")]
    compile: Annotated[ExecuteStage | None, Meta(description="Null for interpreted languages.")]
    run: Annotated[ExecuteStage | None, Meta(description="Null when the compile failed.")]


class LanguageInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A language this server runs (GET /api/v1/languages)."""

    id: str
    name: str
    aliases: Annotated[list[str], Meta(description="Every other name it answers to, file extension included.")]
    version: str
    file: Annotated[str, Meta(description="The entry file's usual name.")]
    compiled: bool
    template: Annotated[str, Meta(description="A first program for the web pad.")]
    group: Annotated[str, Meta(description="The family it belongs to (the web pad's picker groups by it).")]


class ReadinessReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """GET /readyz: whether this server can run programs now, and if not, why."""

    ready: bool
    docker: bool
    image: bool
    draining: bool
    isolation: str  # "namespace" (a fresh sandbox of namespaces per run in warm containers) or "container"
    problems: list[str]


class PistonRuntime(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A runtime as Piston lists it (GET /api/v2/runtimes)."""

    language: str
    version: str
    aliases: Annotated[list[str], Meta(description="Every other name it answers to, file extension included.")]


class PistonStage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stage as Piston reports it: the documented fields, then Piston's newer usage fields."""

    stdout: str
    stderr: str
    output: Annotated[str, Meta(description="stdout and stderr in the order produced.")]
    code: int | None
    signal: str | None
    message: str | None
    status: PistonStatus | None
    memory: Annotated[int | None, Meta(description="Peak memory, bytes.")]
    cpu_time: NullableMs
    wall_time: NullableMs


class PistonExecuteResponse(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The answer of POST /api/v2/execute. A failed compile is also the `run`, as Piston answers it."""

    language: str
    version: str
    compile: Annotated[PistonStage, Meta(description="Compiled languages only.")] | msgspec.UnsetType = msgspec.UNSET
    run: PistonStage


class PistonErrorResponse(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A refusal, as Piston words it."""

    message: str


class ClusterNode(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One live node as its registry record says (GET /api/v1/cluster)."""

    id: str | None
    address: str | None
    sessions: int
    queue: int
    pool: int
    capacity: int
    draining: bool
    ready: bool
    last_heartbeat: Annotated[float, Meta(description="Seconds since the epoch.")]
    heartbeat_age_s: float


class ClusterReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """GET /api/v1/cluster: the node that answered, every live node, and the latest cluster events it heard."""

    node: str
    nodes: list[ClusterNode]
    events: list[dict[str, Any]]


# --- the question bank (web/questions.py) ---------------------------------------------------------------------
class QuestionSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A question as the bank's search lists it: no description, no cases, only how many."""

    slug: str
    title: str
    difficulty: Difficulty
    tags: list[str]
    languages: Annotated[list[str], Meta(description="The languages it has a starter for.")]
    cases: int
    hidden_cases: int

    @classmethod
    def of(cls, question: Question) -> QuestionSummary:
        return cls(
            question.slug,
            question.title,
            question.difficulty,
            list(question.tags),
            [starter.language for starter in question.starters],
            len(question.cases),
            sum(case.hidden for case in question.cases),
        )


class QuestionList(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """GET /api/v1/questions: the questions that match, by title (at most 100)."""

    questions: list[QuestionSummary]


class ShownQuestion(Question, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A question as an answer: every field of the question (its hidden cases only for an operator, or a pad's
    owner), its description also as sanitised HTML, and how many hidden cases it has."""

    description_html: str
    hidden_cases: int

    @classmethod
    def of(cls, question: Question, full: bool) -> ShownQuestion:
        shown = question if full else question.without_hidden()
        return cls(
            **msgspec.structs.asdict(shown),
            description_html=markdown.render(question.description),
            hidden_cases=sum(case.hidden for case in question.cases),
        )


class PadQuestion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """GET and PUT /api/v1/pads/<id>/question: the pad's question as the key's role may see it."""

    question: Annotated[ShownQuestion | None, Meta(description="Null when the pad is on no question.")]


class TestsStarted(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """POST /api/v1/pads/<id>/tests: the test run started; its results go to the pad's events sockets."""

    __test__ = False
    run_id: str


class TestRunEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One "Run tests" in a pad's history; a hidden case's details for the owner only."""

    __test__ = False
    run_id: str
    at: Annotated[float, Meta(description="Seconds since the epoch.")]
    finished_at: Annotated[float | None, Meta(description="Null until the run has finished.")]
    author: dict[str, str]
    language: str
    slug: Annotated[str | None, Meta(description="The question it tested; null for the pad's own cases alone.")]
    files: list[dict[str, str]]
    passed: int
    total: int
    summary: str
    results: list[CaseResult]


class TestRuns(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """GET /api/v1/pads/<id>/tests: the pad's test runs, oldest first."""

    __test__ = False
    test_runs: list[TestRunEntry]
