"""What a question is, as pure values and rules: its fields and their checks, how an output is compared with the
expected one, and what of a case's result each role may see.

No I/O here: the store, the folder import and the HTTP API all decode into these types, so a rule exists once.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from padbox.core.languages import Catalogue
from padbox.core.protocol import ErrorCode, ProtocolError, check_file_name

SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
MAX_CASES = 100
MAX_CASE_BYTES = 1 << 20  # one case's stdin or expected output
MAX_DESCRIPTION = 64 * 1024
MAX_DIFF_LINES = 200
DEFAULT_TOLERANCE = 1e-6


class Comparison(StrEnum):
    """How a case's actual output is held against its expected output."""

    EXACT = "exact"  # byte for byte
    TRIM = "trim"  # trailing whitespace of every line, and trailing newlines, ignored
    TOKENS = "tokens"  # the same whitespace-separated words
    FLOAT = "float"  # the same words, numbers equal within `tolerance` (absolute or relative)


class Visibility(StrEnum):
    VISIBLE = "visible"  # everyone on the pad sees its input, expected and actual output
    HIDDEN = "hidden"  # a pad's edit and view roles see only pass or fail and the verdict


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


Slug = Annotated[str, Meta(pattern=SLUG, description="Lower-case letters, digits and dashes; the question's id.")]
CaseText = Annotated[str, Meta(max_length=MAX_CASE_BYTES)]


class TestCase(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One input and the output it must produce."""

    __test__ = False  # not a pytest class

    name: Annotated[str, Meta(min_length=1, max_length=80)]
    stdin: CaseText = ""
    expected: CaseText
    compare: Comparison = Comparison.TRIM
    tolerance: Annotated[float, Meta(ge=0)] = DEFAULT_TOLERANCE
    visibility: Visibility = Visibility.VISIBLE
    time_limit_s: Annotated[float, Meta(gt=0, le=60)] | None = None

    @property
    def hidden(self) -> bool:
        return self.visibility is Visibility.HIDDEN


class Starter(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The code a pad in `language` starts from: one file."""

    language: str
    file: str
    content: Annotated[str, Meta(max_length=MAX_CASE_BYTES)]


class Question(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A question of the bank, as the API takes and gives it (the description is Markdown)."""

    slug: Slug
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    description: Annotated[str, Meta(max_length=MAX_DESCRIPTION)] = ""
    difficulty: Difficulty = Difficulty.MEDIUM
    tags: tuple[Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9+#.-]{0,31}$")], ...] = ()
    starters: tuple[Starter, ...] = ()
    cases: Annotated[tuple[TestCase, ...], Meta(max_length=MAX_CASES)] = ()

    def starter(self, language: str) -> Starter | None:
        return next((s for s in self.starters if s.language == language), None)

    def without_hidden(self) -> Question:
        """The question as someone who may not see hidden cases gets it."""
        return msgspec.structs.replace(self, cases=tuple(case for case in self.cases if not case.hidden))


class QuestionError(ProtocolError):
    """A question that breaks a rule; `where` names the field (and, from a folder, the file)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, f"{where}: {message}" if where else message)
        self.where = where


def check(question: Question, catalogue: Catalogue) -> Question:
    """The rules a decoder cannot say: unique case names and languages, known languages, file names. Starters'
    languages are stored by id (`py` becomes `python`). Raises QuestionError."""
    names = [case.name for case in question.cases]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise QuestionError(f"cases[{index}].name", f"case name {name!r} appears twice")
    starters: list[Starter] = []
    for index, starter in enumerate(question.starters):
        try:
            language = catalogue.resolve(starter.language).id
            check_file_name(starter.file)
        except ProtocolError as exc:
            raise QuestionError(f"starters[{index}]", exc.message) from None
        if language in (s.language for s in starters):
            raise QuestionError(f"starters[{index}].language", f"a second starter for {language}")
        starters.append(msgspec.structs.replace(starter, language=language))
    return msgspec.structs.replace(question, starters=tuple(starters), tags=tuple(sorted(set(question.tags))))


def decode_question(raw: bytes) -> Question:
    """A question from a JSON body; QuestionError naming the field when it does not fit."""
    try:
        return msgspec.json.decode(raw, type=Question)
    except msgspec.ValidationError as exc:
        raise QuestionError("", f"the question does not fit: {exc}") from None
    except msgspec.DecodeError as exc:
        raise QuestionError("", f"the request body is not valid JSON: {exc}") from None


# --- comparing outputs --------------------------------------------------------------------------------
def _trimmed(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _number(word: str) -> float | None:
    try:
        value = float(word)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _close(expected: str, actual: str, tolerance: float) -> bool:
    if expected == actual:
        return True
    a, b = _number(expected), _number(actual)
    if a is None or b is None:
        return False
    return abs(a - b) <= tolerance or abs(a - b) <= tolerance * max(abs(a), abs(b))


def matches(expected: str, actual: str, compare: Comparison, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether `actual` passes as `expected` under a comparison."""
    if compare is Comparison.EXACT:
        return actual == expected
    if compare is Comparison.TRIM:
        return _trimmed(actual) == _trimmed(expected)
    want, got = expected.split(), actual.split()
    if compare is Comparison.TOKENS:
        return want == got
    return len(want) == len(got) and all(_close(w, g, tolerance) for w, g in zip(want, got, strict=True))


def diff(expected: str, actual: str) -> str:
    """A unified diff, expected to actual, bounded."""
    lines = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "expected", "actual", lineterm="", n=2)
    kept = list(_bounded(lines, MAX_DIFF_LINES))
    return "\n".join(kept)


def _bounded(lines: Iterable[str], limit: int) -> Iterable[str]:
    for index, line in enumerate(lines):
        if index == limit:
            yield "..."
            return
        yield line


def slugify(title: str) -> str:
    """A slug from a title: `Two Sum` -> `two-sum`."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64] or "question"
