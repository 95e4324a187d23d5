"""The question bank's pure rules: comparisons, redaction, Markdown sanitising, and question folders refused with
the file and the field named (nothing half-imported)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from padbox.config import Settings
from padbox.core.languages import Catalogue
from padbox.questions import files
from padbox.questions.markdown import render
from padbox.questions.model import Comparison, QuestionError, matches
from padbox.questions.store import QuestionStore, TestRunRecord
from padbox.questions.test_runs import CaseResult
from padbox.web.answers import QuestionList, QuestionSummary, ShownQuestion, TestRunEntry, TestRuns, answer

CATALOGUE = Catalogue.load(Settings.from_env({}).manifest)


@pytest.mark.parametrize(
    ("mode", "expected", "actual", "passes"),
    [
        (Comparison.EXACT, "1 2\n", "1 2\n", True),
        (Comparison.EXACT, "1 2\n", "1 2", False),
        (Comparison.TRIM, "1 2\n", "1 2   \n\n", True),
        (Comparison.TRIM, "1 2\n", " 1 2\n", False),
        (Comparison.TOKENS, "1 2 3", "1\n2   3\n", True),
        (Comparison.TOKENS, "1 2 3", "1 3 2", False),
        (Comparison.FLOAT, "3.14159265 x", "3.1415927 x", True),
        (Comparison.FLOAT, "1000000", "1000000.5", True),  # relative
        (Comparison.FLOAT, "3.14159265", "3.15", False),
        (Comparison.FLOAT, "1 2", "1", False),
        (Comparison.FLOAT, "nan", "nan", True),  # equal words
    ],
)
def test_each_comparison_mode(mode: Comparison, expected: str, actual: str, passes: bool) -> None:
    assert matches(expected, actual, mode, 1e-6) is passes


def test_a_hidden_result_shows_a_non_owner_only_pass_verdict_and_time() -> None:
    result = CaseResult(
        index=3, name="big", hidden=True, passed=False, verdict="ok", wall_ms=12, stdin="s", expected="e", actual="a"
    )
    assert result.for_role(owner=True) == result
    shown = result.for_role(owner=False)
    assert (shown.name, shown.passed, shown.verdict, shown.wall_ms) == ("hidden 4", False, "ok", 12)
    assert shown.stdin is None and shown.expected is None and shown.actual is None and shown.diff is None


def test_markdown_is_rendered_with_script_and_raw_html_stripped() -> None:
    html = render("**bold** <script>alert(1)</script> <b onclick='x'>b</b> [l](javascript:alert(1)) <iframe></iframe>")
    assert "<strong>bold</strong>" in html
    for bad in ("<script", "alert(1)</", "onclick", "<b", 'href="javascript', "<iframe"):
        assert bad not in html


def write(folder: Path, meta: str, cases: dict[str, str] | None = None, starters: dict[str, str] | None = None) -> None:
    (folder / "cases").mkdir(parents=True)
    (folder / "question.yaml").write_text(meta)
    for name, text in (cases or {}).items():
        (folder / "cases" / name).write_text(text)
    for path, text in (starters or {}).items():
        (folder / "starters" / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / "starters" / path).write_text(text)


GOOD = "title: Good\ncases:\n- name: a\n"


@pytest.mark.parametrize(
    ("meta", "cases", "starters", "named"),
    [
        ("difficulty: easy\n", {}, {}, "bad/question.yaml: Object missing required field `title`"),
        (GOOD, {"a.in": "1"}, {}, "bad/question.yaml: cases[0] (a): the case has no expected output: bad/cases/a.out"),
        (GOOD, {"a.out": "1"}, {"klingon/main.k": ""}, "bad/starters/klingon: a starter for an unknown language"),
        ("title: X\ncases:\n- name: a\n  compare: fuzzy\n", {"a.out": ""}, {}, "bad/question.yaml: Invalid enum"),
    ],
)
def test_a_bad_folder_is_refused_naming_the_file_and_field(
    tmp_path: Path, meta: str, cases: dict[str, str], starters: dict[str, str], named: str
) -> None:
    write(tmp_path / "good", GOOD, {"a.out": "1\n"}, {"python/main.py": "print(1)\n"})
    write(tmp_path / "bad", meta, cases, starters)
    with pytest.raises(QuestionError) as refused:
        files.read_bank(tmp_path, CATALOGUE)
    assert refused.value.message.startswith(named)

    async def nothing_stored() -> int:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
        store = QuestionStore(engine)
        await store.open()
        try:
            with pytest.raises(QuestionError):
                await files.import_into(store, tmp_path, CATALOGUE)
            return await store.count()
        finally:
            await engine.dispose()

    assert asyncio.run(nothing_stored()) == 0  # the good folder was not imported either


def test_import_is_idempotent_and_export_gives_back_the_folders(tmp_path: Path) -> None:
    async def round_trip() -> tuple[list[tuple[str, bool]], list[tuple[str, bool]], list[str]]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
        store = QuestionStore(engine)
        await store.open()
        try:
            first = await files.import_into(store, files.bundled_bank(), CATALOGUE)
            again = await files.import_into(store, files.bundled_bank(), CATALOGUE)
            return first, again, await files.export_from(store, tmp_path / "out")
        finally:
            await engine.dispose()

    first, again, exported = asyncio.run(round_trip())
    assert len(first) >= 12 and all(new for _, new in first) and not any(new for _, new in again)
    assert files.read_bank(tmp_path / "out", CATALOGUE) == files.read_bank(files.bundled_bank(), CATALOGUE)
    assert not (tmp_path / "out" / "two-sum" / "solutions").exists()  # reference solutions never enter the bank
    assert sorted(exported) == sorted(slug for slug, _ in first)


def test_question_answers_keep_their_wire_shape_and_decode_as_their_types() -> None:
    """The bank's answers are web/answers.py's types: the question's own fields as msgspec gives them, then the
    rendered description and the hidden count; a non-operator's copy has no hidden case."""
    for question in files.read_bank(files.bundled_bank(), CATALOGUE):
        hidden = sum(case.hidden for case in question.cases)
        for full in (True, False):
            body = answer(ShownQuestion.of(question, full)).body
            shown = question if full else question.without_hidden()
            # What the endpoints sent before they had types: the question's builtins, then these two.
            expected = {**msgspec.to_builtins(shown), "description_html": render(question.description)}
            assert json.loads(body) == json.loads(json.dumps({**expected, "hidden_cases": hidden}))
            assert msgspec.json.decode(body, type=ShownQuestion).cases == shown.cases
        summary = json.loads(answer(QuestionList([QuestionSummary.of(question)])).body)["questions"][0]
        assert summary["hidden_cases"] == hidden and summary["cases"] == len(question.cases)
        assert summary["languages"] == [s.language for s in question.starters]
        assert list(summary) == ["slug", "title", "difficulty", "tags", "languages", "cases", "hidden_cases"]


def test_a_test_run_record_is_answered_as_its_type() -> None:
    result = CaseResult(index=0, name="one", hidden=False, passed=True, verdict="ok", wall_ms=3)
    record = TestRunRecord(
        "r1",
        1.0,
        2.0,
        {"name": "Ann"},
        "python",
        "sum",
        [{"name": "main.py", "content": ""}],
        1,
        1,
        "1/1 passed",
        [msgspec.to_builtins(result)],
    )
    entry = msgspec.convert(record, TestRunEntry, from_attributes=True)
    body = answer(TestRuns([entry])).body
    assert json.loads(body)["test_runs"] == [{**record.__dict__, "results": [msgspec.to_builtins(result)]}]
    assert msgspec.json.decode(body, type=TestRuns).test_runs[0].results == [result]
