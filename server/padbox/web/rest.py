"""The HTTP API (/api/v1): one request, one run, one answer. A thin translation onto the Runner.

The body of POST /api/v1/execute is the body of a WebSocket `run` message (without `tty`), decoded
into the same `protocol.RunRequest` under the same rules and run through the same `Runner.execute` as
every other transport; the answer is the run's record. The plumbing is shared with Piston's API (http_runs.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from padbox.core import protocol
from padbox.core.door import Door
from padbox.core.events import Error, as_dict
from padbox.core.protocol import ProtocolError, RunRequest, Stage, bad_request
from padbox.core.runner import Runner
from padbox.core.transcript import RunRecord, StageRecord
from padbox.web.http_runs import Endpoint, run_endpoint

# Decoding into RunRequest, not ExecuteRequest, so that a `tty` sent here is seen and refused.
_EXECUTE_BODY: msgspec.json.Decoder[RunRequest] = msgspec.json.Decoder(RunRequest)


def parse_execute(body: bytes) -> RunRequest:
    """A /api/v1/execute body: a `run` message's fields (its `type` may be left out), never `tty`."""
    run = protocol.check_run(protocol.decode(_EXECUTE_BODY, body, "the request body"))
    if run.tty:
        raise bad_request("'tty' needs a live connection: use the WebSocket at /ws")
    return run


def execute_answer(record: RunRecord) -> dict[str, Any]:
    """The answer: the run's id, language and version, the verdict of the last stage, and for each stage
    (null when it did not happen) its output and its `exit` fields."""
    started = record.started
    answer: dict[str, Any] = {
        "id": started.id if started else None,
        "language": started.language if started else None,
        "version": started.version if started else None,
        "verdict": record.verdict,
    }
    for stage in Stage:
        ran = record.stages.get(stage)
        answer[stage.value] = None if ran is None else {"stdout": ran.stdout, "stderr": ran.stderr, **exit_fields(ran)}
    return answer


def exit_fields(stage: StageRecord) -> dict[str, Any]:
    """The stage's `exit` fields (code, signal, verdict, wall_ms, cpu_ms, memory_bytes); none before it ended."""
    if stage.exit is None:
        return {}
    return {k: v for k, v in as_dict(stage.exit).items() if k not in ("type", "stage")}


def refusal(problem: ProtocolError) -> dict[str, Any]:
    """A refusal's body: the same `error` object a WebSocket client receives."""
    return as_dict(Error.of(problem))


def execute_endpoint(runner: Runner, door: Door) -> Endpoint:
    """POST /api/v1/execute"""
    return run_endpoint(runner, door, parse_execute, execute_answer, refusal)
