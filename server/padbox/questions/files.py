"""Questions as plain files, so a team keeps them in its own git repository.

One folder per question, named by its slug:

    two-sum/
      question.yaml          title, difficulty, tags, and the cases' names and rules, in order
      description.md         the statement (Markdown)
      starters/<language>/<file>   one starter per language (`starters/python/main.py`)
      cases/<name>.in        a case's stdin (absent: empty)
      cases/<name>.out       its expected stdout (required)
      solutions/<language>/<file>  reference solutions: checked in CI, never imported, never in a pad

Reading is all or nothing: every folder is read and checked before anything is stored, and an error names the
file and the field.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml
from msgspec import Meta

from padbox.core.languages import Catalogue
from padbox.questions.model import (
    DEFAULT_TOLERANCE,
    Comparison,
    Difficulty,
    Question,
    QuestionError,
    Starter,
    TestCase,
    Visibility,
    check,
)
from padbox.questions.store import QuestionStore

QUESTION_FILE = "question.yaml"
DESCRIPTION_FILE = "description.md"
STARTERS = "starters"
SOLUTIONS = "solutions"
CASES = "cases"


class CaseEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")]
    visibility: Visibility = Visibility.VISIBLE
    compare: Comparison = Comparison.TRIM
    tolerance: Annotated[float, Meta(ge=0)] = DEFAULT_TOLERANCE
    time_limit_s: Annotated[float, Meta(gt=0, le=60)] | None = None


class QuestionFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """question.yaml."""

    title: Annotated[str, Meta(min_length=1, max_length=200)]
    difficulty: Difficulty = Difficulty.MEDIUM
    tags: tuple[str, ...] = ()
    cases: tuple[CaseEntry, ...] = ()


def read_question(folder: Path, catalogue: Catalogue) -> Question:
    """One question folder, checked; QuestionError naming the file and the field."""
    slug = folder.name
    meta_path = folder / QUESTION_FILE
    where = f"{slug}/{QUESTION_FILE}"
    try:
        raw: Any = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QuestionError(where, f"cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise QuestionError(where, f"is not YAML: {exc}") from None
    try:
        meta = msgspec.convert(raw, QuestionFile)
    except msgspec.ValidationError as exc:
        raise QuestionError(where, str(exc)) from None
    description_path = folder / DESCRIPTION_FILE
    description = description_path.read_text(encoding="utf-8") if description_path.is_file() else ""
    cases = tuple(_read_case(folder, index, entry) for index, entry in enumerate(meta.cases))
    starters = tuple(_read_starters(folder, catalogue))
    try:
        question = msgspec.convert(
            {
                "slug": slug,
                "title": meta.title,
                "description": description,
                "difficulty": meta.difficulty,
                "tags": meta.tags,
                "starters": [msgspec.to_builtins(s) for s in starters],
                "cases": [msgspec.to_builtins(c) for c in cases],
            },
            Question,
        )
    except msgspec.ValidationError as exc:
        raise QuestionError(f"{slug}", str(exc)) from None
    try:
        return check(question, catalogue)
    except QuestionError as exc:
        raise QuestionError(f"{where}: {exc.where}", exc.message.split(": ", 1)[-1]) from None


def _read_case(folder: Path, index: int, entry: CaseEntry) -> TestCase:
    slug = folder.name
    stdin_path = folder / CASES / f"{entry.name}.in"
    expected_path = folder / CASES / f"{entry.name}.out"
    if not expected_path.is_file():
        raise QuestionError(
            f"{slug}/{QUESTION_FILE}: cases[{index}] ({entry.name})",
            f"the case has no expected output: {slug}/{CASES}/{entry.name}.out is missing",
        )
    return TestCase(
        name=entry.name,
        stdin=stdin_path.read_text(encoding="utf-8") if stdin_path.is_file() else "",
        expected=expected_path.read_text(encoding="utf-8"),
        compare=entry.compare,
        tolerance=entry.tolerance,
        visibility=entry.visibility,
        time_limit_s=entry.time_limit_s,
    )


def _read_starters(folder: Path, catalogue: Catalogue) -> list[Starter]:
    starters = []
    root = folder / STARTERS
    for language_dir in sorted(root.iterdir()) if root.is_dir() else []:
        where = f"{folder.name}/{STARTERS}/{language_dir.name}"
        if language_dir.name not in catalogue.languages:
            raise QuestionError(where, f"a starter for an unknown language {language_dir.name!r}")
        files = sorted(p for p in language_dir.iterdir() if p.is_file()) if language_dir.is_dir() else []
        if len(files) != 1:
            raise QuestionError(where, f"holds {len(files)} files; a starter is exactly one file")
        starters.append(Starter(language=language_dir.name, file=files[0].name, content=files[0].read_text("utf-8")))
    return starters


def read_bank(directory: Path, catalogue: Catalogue) -> list[Question]:
    """Every question under `directory` (a folder holding question folders, or one question folder)."""
    if (directory / QUESTION_FILE).is_file():
        return [read_question(directory, catalogue)]
    if not directory.is_dir():
        raise QuestionError(str(directory), "is not a folder")
    folders = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    questions = []
    for folder in folders:
        if not (folder / QUESTION_FILE).is_file():
            raise QuestionError(f"{folder.name}/{QUESTION_FILE}", "is missing: every question folder needs one")
        questions.append(read_question(folder, catalogue))
    return questions


def write_question(directory: Path, question: Question) -> Path:
    """A question as a folder under `directory` (replacing the files the export writes; solutions untouched)."""
    folder = directory / question.slug
    (folder / CASES).mkdir(parents=True, exist_ok=True)
    entries = []
    for case in question.cases:
        entry: dict[str, Any] = {"name": case.name, "visibility": case.visibility.value}
        if case.compare is not Comparison.TRIM:
            entry["compare"] = case.compare.value
        if case.compare is Comparison.FLOAT:
            entry["tolerance"] = case.tolerance
        if case.time_limit_s is not None:
            entry["time_limit_s"] = case.time_limit_s
        entries.append(entry)
        (folder / CASES / f"{case.name}.in").write_text(case.stdin, encoding="utf-8")
        (folder / CASES / f"{case.name}.out").write_text(case.expected, encoding="utf-8")
    meta = {
        "title": question.title,
        "difficulty": question.difficulty.value,
        "tags": list(question.tags),
        "cases": entries,
    }
    (folder / QUESTION_FILE).write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (folder / DESCRIPTION_FILE).write_text(question.description, encoding="utf-8")
    for starter in question.starters:
        language_dir = folder / STARTERS / starter.language
        language_dir.mkdir(parents=True, exist_ok=True)
        for old in language_dir.iterdir():
            old.unlink()
        (language_dir / starter.file).write_text(starter.content, encoding="utf-8")
    return folder


def bundled_bank() -> Path:
    """The starter set shipped with padbox (package data)."""
    return Path(str(resources.files("padbox.questions").joinpath("bank")))


async def import_into(store: QuestionStore, directory: Path, catalogue: Catalogue) -> list[tuple[str, bool]]:
    """Every question under `directory` into the store, all or none, by slug (importing again changes nothing
    but the update time); (slug, created) for each."""
    questions = read_bank(directory, catalogue)
    created = await store.put_all(questions)
    return [(q.slug, new) for q, new in zip(questions, created, strict=True)]


async def export_from(store: QuestionStore, directory: Path) -> list[str]:
    """Every question of the store as a folder under `directory`."""
    questions = await store.search(limit=1_000_000)
    for question in questions:
        write_question(directory, question)
    return [q.slug for q in questions]
