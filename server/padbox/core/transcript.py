"""One run's events folded into a single record: what the HTTP APIs answer with.

Pure code over the same typed events a WebSocket client receives (core/events.py), so a run over
HTTP and a run over /ws cannot disagree about output, exit status or verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from padbox.core.events import AnyEvent, Error, Exited, Output, StageBegan, Started, Stderr, Stdout
from padbox.core.protocol import Stage, Verdict


@dataclass
class StageRecord:
    """One stage: its output in the order produced (both streams), and how it ended."""

    stage: Stage
    chunks: list[Output] = field(default_factory=list)
    exit: Exited | None = None

    def text(self, stream: type[Output] = Output) -> str:
        """One stream's output (Stdout or Stderr), or both interleaved as produced (Output)."""
        return "".join(chunk.data for chunk in self.chunks if isinstance(chunk, stream))

    @property
    def stdout(self) -> str:
        return self.text(Stdout)

    @property
    def stderr(self) -> str:
        return self.text(Stderr)


@dataclass
class RunRecord:
    """Everything a run emitted that an answer needs, as it arrived."""

    started: Started | None = None
    error: Error | None = None
    stages: dict[Stage, StageRecord] = field(default_factory=dict)

    def add(self, event: AnyEvent) -> None:
        if isinstance(event, Started):
            self.started = event
        elif isinstance(event, Error):
            self.error = event
        elif isinstance(event, StageBegan):
            self.stages[event.stage] = StageRecord(event.stage)
        elif isinstance(event, Output):
            self._stage(event.stage).chunks.append(event)
        elif isinstance(event, Exited):
            self._stage(event.stage).exit = event

    def _stage(self, stage: Stage) -> StageRecord:
        return self.stages.setdefault(stage, StageRecord(stage))

    @property
    def verdict(self) -> Verdict | None:
        """The verdict of the last stage that ended: the run's, or the compiler's when it failed."""
        ended = [record.exit for record in self.stages.values() if record.exit is not None]
        return ended[-1].verdict if ended else None
