"""Semantic-version selectors, as npm's `semver.satisfies` reads them: what Piston clients send as `version`.

Pure code. Supported: `*` / `x` / empty (any), exact and partial versions (`3.11.2`, `3.11`, `3.x`),
comparators (`>=3.10 <4`), tilde (`~3.11`), caret (`^3.10.1`), hyphen ranges (`3.9 - 3.12`) and
alternatives joined by `||`. Pre-release tags are ignored. A selector that cannot be read matches nothing.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

Version = tuple[int, int, int]
Comparator = tuple[str, Version]

_PART = r"[xX*]|\d+"
_PARTIAL = re.compile(rf"v?({_PART})(?:\.({_PART})(?:\.({_PART})(?:[-+][0-9A-Za-z.+-]*)?)?)?")
_OPERATOR = re.compile(r"(<=|>=|<|>|=|~>|~|\^)?(.*)")
_HYPHEN = re.compile(r"(\S+)\s+-\s+(\S+)")
_COMPARE: dict[str, Callable[[Version, Version], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
NOTHING: list[Comparator] = [("<", (0, 0, 0))]
MAX_SELECTOR_LENGTH = 256


def coerce(text: str) -> Version | None:
    """The first `major[.minor[.patch]]` in a version string (`gcc 12.2.0` -> (12, 2, 0)), or None."""
    found = re.search(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if found is None:
        return None
    major, minor, patch = (int(part or 0) for part in found.groups())
    return major, minor, patch


def _partial(text: str) -> tuple[int, Version]:
    """How many parts are given (up to the first wildcard), and the version with the rest as 0."""
    found = _PARTIAL.fullmatch(text)
    if found is None:
        raise ValueError(f"not a version: {text!r}")
    numbers: list[int] = []
    for part in found.groups():
        if part is None or part in "xX*":
            break
        numbers.append(int(part))
    given = len(numbers)
    numbers += [0] * (3 - given)
    return given, (numbers[0], numbers[1], numbers[2])


def _bump(given: int, version: Version) -> Version:
    """The first version past a partial one: 1 -> 2.0.0, 1.2 -> 1.3.0."""
    major, minor, _ = version
    return (major + 1, 0, 0) if given == 1 else (major, minor + 1, 0)


def _comparators(op: str, text: str) -> list[Comparator]:
    given, low = _partial(text)
    major, minor, patch = low
    if given == 0:
        return NOTHING if op in ("<", ">") else []
    if op in ("", "="):
        return [("=", low)] if given == 3 else [(">=", low), ("<", _bump(given, low))]
    if op == ">":
        return [(">", low)] if given == 3 else [(">=", _bump(given, low))]
    if op == "<=":
        return [("<=", low)] if given == 3 else [("<", _bump(given, low))]
    if op in (">=", "<"):
        return [(op, low)]
    if op in ("~", "~>"):
        return [(">=", low), ("<", _bump(min(given, 2), low))]
    # caret: changes that keep the left-most non-zero part
    if major > 0 or given == 1:
        high = (major + 1, 0, 0)
    elif minor > 0 or given == 2:
        high = (0, minor + 1, 0)
    else:
        high = (0, 0, patch + 1)
    return [(">=", low), ("<", high)]


def _range(text: str) -> list[Comparator]:
    hyphen = _HYPHEN.fullmatch(text)
    if hyphen is not None:
        given, high = _partial(hyphen.group(2))
        upper = [] if given == 0 else [("<=", high)] if given == 3 else [("<", _bump(given, high))]
        return _comparators(">=", hyphen.group(1)) + upper
    text = re.sub(r"(<=|>=|<|>|=|~>|~|\^)\s+", r"\1", text)  # `>= 1.2` is `>=1.2`
    comparators: list[Comparator] = []
    for token in text.split():
        found = _OPERATOR.fullmatch(token)
        assert found is not None  # every token matches: the operator is optional
        comparators += _comparators(found.group(1) or "", found.group(2))
    return comparators


def satisfies(version: str, selector: str) -> bool:
    """Whether `version` is one `selector` asks for. An unreadable selector or version matches nothing,
    except that a selector equal to the version string always matches."""
    if selector.strip() == version.strip():
        return True
    have = coerce(version)
    if have is None:
        return selector.strip() in ("", "*", "x", "X")
    try:
        alternatives = [_range(part.strip()) for part in selector.split("||")]
    except ValueError:
        return False
    return any(all(_COMPARE[op](have, bound) for op, bound in comparators) for comparators in alternatives)
