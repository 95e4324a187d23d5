"""One session's messages folded into a single answer: what the HTTP transports reply with.

Pure code: it reads the same messages a WebSocket client would receive (server/protocol.py builds
them), so a run over HTTP and a run over /ws cannot disagree about output, exit status or verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from padbox.core.protocol import ErrorCode, ProtocolError, ServerType, Stage

STREAMS = (ServerType.STDOUT.value, ServerType.STDERR.value)


@dataclass
class StageRecord:
    """One stage: its output per stream, both streams in the order produced, and its `exit` message."""

    stage: Stage
    chunks: list[tuple[str, str]] = field(default_factory=list)  # (stream, text) as they arrived
    exit: dict[str, Any] | None = None

    def text(self, stream: str | None = None) -> str:
        """One stream's output, or both interleaved as produced (stream None)."""
        return "".join(data for kind, data in self.chunks if stream is None or kind == stream)

    def result(self) -> dict[str, Any]:
        """The `exit` message's fields (code, signal, verdict, wall_ms, cpu_ms, memory_bytes), without
        its `type` and `stage`; an empty dict while the stage has not ended."""
        return {k: v for k, v in (self.exit or {}).items() if k not in ("type", "stage")}


@dataclass
class Transcript:
    """Everything a session emitted, as it arrived. `add` is the session's emit callback."""

    started: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    stages: dict[Stage, StageRecord] = field(default_factory=dict)

    async def add(self, message: dict[str, Any]) -> None:
        self.take(message)

    def take(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == ServerType.STARTED:
            self.started = message
        elif kind == ServerType.ERROR:
            self.error = message
        elif kind == ServerType.STAGE:
            stage = Stage(message["stage"])
            self.stages[stage] = StageRecord(stage)
        elif kind in STREAMS:
            self._stage(message).chunks.append((str(kind), message["data"]))
        elif kind == ServerType.EXIT:
            self._stage(message).exit = message

    def _stage(self, message: dict[str, Any]) -> StageRecord:
        stage = Stage(message["stage"])
        return self.stages.setdefault(stage, StageRecord(stage))

    @property
    def verdict(self) -> str | None:
        """The verdict of the last stage that ended: the run's, or the compiler's when it failed."""
        ended = [record.exit for record in self.stages.values() if record.exit is not None]
        return str(ended[-1]["verdict"]) if ended else None

    def failure(self) -> ProtocolError | None:
        """The session's `error` message as the error it reports, or None."""
        if self.error is None:
            return None
        return ProtocolError(ErrorCode(self.error["code"]), str(self.error["message"]), self.error.get("retry_after_s"))
