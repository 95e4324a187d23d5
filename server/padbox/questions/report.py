"""The interview's report: one document from the pad's history and its question's test runs. It sits with the
question bank because it reads both (the pads know nothing of questions). GET /api/v1/pads/<id>/report, the export
and the webhook all use `build`, so the three can never disagree.
"""

from __future__ import annotations

import time

from padbox.pads.messages import (
    History,
    MarkEntry,
    PadInfo,
    Report,
    ReportCode,
    ReportFile,
    ReportMoments,
    ReportNote,
    ReportPad,
    ReportPaste,
    ReportPastes,
    ReportQuestion,
    ReportRun,
    ReportTestRun,
    RunEntry,
)
from padbox.pads.model import PadContent
from padbox.pads.timeline import LOSSES, MarkKind
from padbox.questions.model import Question
from padbox.questions.store import TestRunRecord


def build(
    info: PadInfo,
    content: PadContent,
    history: History,
    notes: str,
    question: Question | None,
    test_runs: list[TestRunRecord],
    now: float | None = None,
) -> Report:
    """The report of a pad as its owner sees it (hidden cases in full, notes included): never for another role."""
    end = info.ended_at if info.ended_at is not None else (time.time() if now is None else now)
    marks = history.marks
    pastes = [m for m in marks if m.kind == MarkKind.PASTE]
    losses = away_moments(marks)
    return Report(
        pad=ReportPad(
            info.id, info.title, info.language, info.created_at, info.ended_at, round(end - info.created_at, 3)
        ),
        question=ReportQuestion(question.slug, question.title, question.difficulty.value) if question else None,
        test_runs=tuple(_test_run(t) for t in test_runs),
        code=ReportCode(content.language, content.entry, tuple(ReportFile(f.name, f.content) for f in content.files)),
        notes=notes,
        pinned_notes=tuple(ReportNote(m.at, m.text or "") for m in marks if m.kind == MarkKind.NOTE),
        pastes=ReportPastes(
            len(pastes),
            sum(m.size or 0 for m in pastes),
            tuple(ReportPaste(m.at, m.size or 0, m.author.name) for m in pastes),
        ),
        focus_lost=ReportMoments(len(losses), tuple(m.at for m in losses)),
        runs=tuple(_run(r) for r in history.runs),
    )


def away_moments(marks: tuple[MarkEntry, ...]) -> list[MarkEntry]:
    """The moments an editor's page went away: a blur and the hidden that follows it (a tab switch) are one, counted
    at the first; the page counts as back at its next focus or visible."""
    away: set[str] = set()
    found = []
    for mark in marks:
        if mark.kind in LOSSES:
            if mark.author.name not in away:
                found.append(mark)
            away.add(mark.author.name)
        elif mark.kind in (MarkKind.FOCUS_REGAINED, MarkKind.VISIBLE):
            away.discard(mark.author.name)
    return found


def _test_run(record: TestRunRecord) -> ReportTestRun:
    return ReportTestRun(
        run_id=record.run_id,
        at=record.at,
        by=record.author.get("name", ""),
        language=record.language,
        passed=record.passed,
        total=record.total,
        summary=record.summary,
        results=tuple(record.results),
    )


def _run(run: RunEntry) -> ReportRun:
    return ReportRun(
        run_id=run.run_id,
        at=run.at,
        finished_at=run.finished_at,
        by=run.author.name,
        language=run.language,
        verdict=run.verdict,
        exit_code=run.exit_code,
        wall_ms=(run.usage or {}).get("wall_ms"),
        output=run.output,
        truncated=run.truncated,
        input="".join(text for _, kind, text in run.transcript if kind == "in"),
    )
