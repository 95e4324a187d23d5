"""Semver selectors as Piston clients send them in `version`: npm's ranges (node-semver's), on the versions
padbox's tools print (coerced here)."""

from __future__ import annotations

import logging

import nodesemver  # type: ignore[import-untyped]
import pytest

from padbox.web.semver import MAX_SELECTOR_LENGTH, coerce, satisfies


@pytest.mark.parametrize(
    "selector",
    [
        "*",
        "",
        "x",
        "3.11.2",
        "3.11",
        "3.x",
        "3.11.x",
        "3",
        "=3.11.2",
        "v3.11.2",
        "^3.10",
        "^3.11.1",
        "~3.11",
        "~3.11.0",
        ">=3.10 <4",
        ">= 3.10",
        ">3.11.1",
        "<=3.11",
        "<3.12",
        "3.9 - 3.12",
        "2.x || 3.x",
        "~>3.11",
    ],
)
def test_selectors_that_match_3_11_2(selector: str) -> None:
    assert satisfies("3.11.2", selector)


@pytest.mark.parametrize(
    "selector",
    [
        "2.x",
        "3.10",
        "3.11.3",
        "^3.12",
        "~3.10",
        ">3.11.2",
        "<3.11.2",
        ">=4",
        "<3.11",
        "3.0 - 3.10",
        "2.x || 4.x",
        "not a version",
        ">=3 <=3.10",
        ">*",
        "3.11.2-beta",
    ],
)
def test_selectors_that_do_not_match_3_11_2(selector: str) -> None:
    assert not satisfies("3.11.2", selector)


@pytest.mark.parametrize(
    ("version", "selector", "expected"),
    [
        ("0.2.5", "^0.2.3", True),
        ("0.3.0", "^0.2.3", False),
        ("0.0.3", "^0.0.3", True),
        ("0.0.4", "^0.0.3", False),
        ("0.9.0", "^0.x", True),
        ("1.0.0", "^0.x", False),
        ("1.9.9", "~1", True),
        ("2.0.0", "~1", False),
        ("12.2.0", "12", True),
        ("12.2.0", "> 11", True),
        ("12.2.0", "<= 12.1", False),
        ("2.11.12", "2.11", True),
        ("17.0.19", "^17", True),
        ("1.63.0", ">=1.60 <1.70", True),
    ],
)
def test_caret_tilde_and_partial_versions_follow_npm(version: str, selector: str, expected: bool) -> None:
    assert satisfies(version, selector) is expected


@pytest.mark.parametrize(
    ("printed", "semver"),
    [
        ("8.7", "8.7.0"),  # racket
        ("3.1.2.0", "3.1.2"),  # cobc
        ("6.8.0.105", "6.8.0"),  # mcs
        ("4.5.1+dfsg", "4.5.1"),
        ("v18.20.4", "18.20.4"),
        ("gcc (Debian 12.2.0-14) 12.2.0", "12.2.0"),
        ("5", "5.0.0"),
        ("unknown", None),
    ],
)
def test_printed_versions_are_coerced_as_npm_coerces_them(printed: str, semver: str | None) -> None:
    assert coerce(printed) == semver


def test_versions_that_are_not_semver_match_where_the_library_alone_would_refuse_them() -> None:
    with pytest.raises(ValueError):
        nodesemver.satisfies("8.7", "8.x")  # what coercing is for
    assert satisfies("8.7", "8.x") and satisfies("8.7", "^8.7") and not satisfies("8.7", "8.8")
    assert satisfies("3.1.2.0", "3.1.x") and satisfies("6.8.0.105", "~6.8")
    assert satisfies("6.8.0.105", "6.8.0.105")  # the version as printed, though no range reads it
    assert satisfies("unknown", "*") and satisfies("unknown", "unknown")
    assert not satisfies("unknown", "1.x")


def test_a_selector_past_the_length_cap_matches_nothing() -> None:
    assert satisfies("3.11.2", " " * (MAX_SELECTOR_LENGTH - 1) + "*")
    assert not satisfies("3.11.2", " " * MAX_SELECTOR_LENGTH + "*")


def test_an_unreadable_selector_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert not satisfies("3.11.2", "not a version")
    assert not caplog.records
