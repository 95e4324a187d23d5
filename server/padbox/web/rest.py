"""The HTTP API (/api/v1): one request, one run, one answer (and the languages it runs). A thin translation
onto the Runner.

The body of POST /api/v1/execute is the body of a WebSocket `run` message (without `tty`), decoded
into the same `protocol.RunRequest` under the same rules and run through the same `Runner.execute` as
every other transport; the answer is the run's record. The plumbing is shared with Piston's API (http_runs.py).
"""

from __future__ import annotations

import msgspec

from padbox.core import protocol
from padbox.core.door import Door
from padbox.core.events import Error
from padbox.core.languages import Catalogue
from padbox.core.protocol import ErrorCode, ProtocolError, RunRequest, Stage, bad_request
from padbox.core.runner import Runner
from padbox.core.transcript import RunRecord, StageRecord
from padbox.web.answers import ExecuteResponse, ExecuteStage, LanguageInfo
from padbox.web.http_runs import Endpoint, run_endpoint, started

# Decoding into RunRequest, not ExecuteRequest, so that a `tty` sent here is seen and refused.
_EXECUTE_BODY: msgspec.json.Decoder[RunRequest] = msgspec.json.Decoder(RunRequest)


def parse_execute(body: bytes) -> RunRequest:
    """A /api/v1/execute body: a `run` message's fields (its `type` may be left out), never `tty`."""
    run = protocol.check_run(protocol.decode(_EXECUTE_BODY, body, "the request body"))
    if run.tty:
        raise bad_request("'tty' needs a live connection: use the WebSocket at /ws")
    return run


def execute_answer(record: RunRecord) -> ExecuteResponse:
    """The answer: the run's id, language and version, the verdict of the last stage, and for each stage
    (null when it did not happen) its output and its `exit` fields."""
    began = started(record)
    compiled, ran = (record.stages.get(stage) for stage in (Stage.COMPILE, Stage.RUN))
    return ExecuteResponse(
        id=began.id,
        language=began.language,
        version=began.version,
        verdict=record.verdict,
        compile=None if compiled is None else stage_answer(compiled),
        run=None if ran is None else stage_answer(ran),
    )


def stage_answer(stage: StageRecord) -> ExecuteStage:
    """A stage's output and its `exit` fields. A run that ended without an error ended every stage it began."""
    ended = stage.exit
    if ended is None:
        raise ProtocolError(ErrorCode.INTERNAL, f"the {stage.stage.value} stage never ended")
    return ExecuteStage(
        stdout=stage.stdout,
        stderr=stage.stderr,
        code=ended.code,
        signal=ended.signal,
        verdict=ended.verdict,
        wall_ms=ended.wall_ms,
        cpu_ms=ended.cpu_ms,
        memory_bytes=ended.memory_bytes,
    )


def languages(catalogue: Catalogue) -> list[LanguageInfo]:
    """GET /api/v1/languages: every language, by name."""
    return [
        LanguageInfo(
            id=lang.id,
            name=lang.name,
            aliases=catalogue.aliases(lang),
            version=catalogue.version(lang),
            file=lang.file,
            compiled=lang.compiled,
            template=lang.template,
            group=lang.group,
        )
        for lang in sorted(catalogue, key=lambda lang: lang.name.lower())
    ]


def refusal(problem: ProtocolError) -> Error:
    """A refusal's body: the same `error` object a WebSocket client receives."""
    return Error.of(problem)


def execute_endpoint(runner: Runner, door: Door) -> Endpoint:
    """POST /api/v1/execute"""
    return run_endpoint(runner, door, parse_execute, execute_answer, refusal)
