"""One JSON log line per session: what ran, how it ended, how long it took, how much it wrote.

A SessionObserver, so every transport's sessions are logged the same way. Source code, stdin and
program output may hold secrets: they are left out unless PADBOX_LOG_CONTENT asks for them.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from padbox.core.events import AnyEvent, Output, Stderr, as_dict
from padbox.core.protocol import Stage, Verdict
from padbox.core.session import Session

ABANDONED = "abandoned"  # ended before its last stage did: the client left, or the server stopped it


def outcome(session: Session) -> str:
    """How a session ended, in one word: the verdict of its last stage, the code of the `error` that
    ended it (`busy`, `internal`, ...), or `abandoned`. Logs and metrics share this vocabulary."""
    if session.error is not None:
        return session.error.code.value
    if session.results:
        last = session.results[-1]
        if last.stage is Stage.RUN or last.verdict is not Verdict.OK:
            return last.verdict.value
    return ABANDONED


def elapsed_ms(session: Session) -> int:
    return round((time.monotonic() - session.started_at) * 1000)


@dataclass
class Tally:
    """What the log line needs that only the messages tell."""

    first_output_ms: int | None = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    output: list[str] = field(default_factory=list)  # kept only when content is logged


def record(session: Session, tally: Tally, include_content: bool) -> dict[str, Any]:
    """The log line's fields."""
    plan = session.plan
    line: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "info",
        "event": "session",
        "id": session.id,
        "client": session.client,
        "language": plan.language.id,
        "version": plan.version,
        "outcome": outcome(session),
        "duration_ms": elapsed_ms(session),
        "first_output_ms": tally.first_output_ms,
        "stages": [{k: v for k, v in as_dict(result).items() if k != "type"} for result in session.results],
        "files": len(plan.files),
        "source_bytes": sum(len(f.content.encode()) for f in plan.files),
        "stdin_bytes": len(plan.stdin.encode()),
        "stdout_bytes": tally.stdout_bytes,
        "stderr_bytes": tally.stderr_bytes,
        "limits": plan.limits.as_dict(),
    }
    if include_content:
        line["source"] = [{"name": f.name, "content": f.content} for f in plan.files]
        line["stdin"] = plan.stdin
        line["output"] = "".join(tally.output)
    return line


def json_lines_logger(name: str = "padbox.sessions") -> logging.Logger:
    """A logger that writes each record's message alone on its line (already JSON), to stderr."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class SessionLog:
    """The SessionObserver that writes the line when a session finishes."""

    def __init__(self, include_content: bool = False, logger: logging.Logger | None = None) -> None:
        self.include_content = include_content
        self.logger = logger or json_lines_logger()
        self._tallies: dict[Session, Tally] = {}

    def event(self, session: Session, event: AnyEvent) -> None:
        if not isinstance(event, Output):
            return
        tally = self._tallies.setdefault(session, Tally())
        if tally.first_output_ms is None:
            tally.first_output_ms = elapsed_ms(session)
        size = len(event.data.encode())
        if isinstance(event, Stderr):
            tally.stderr_bytes += size
        else:
            tally.stdout_bytes += size
        if self.include_content:
            tally.output.append(event.data)

    def finished(self, session: Session) -> None:
        tally = self._tallies.pop(session, None) or Tally()
        self.logger.info(json.dumps(record(session, tally, self.include_content), ensure_ascii=False))
