"""Semver selectors as Piston clients send them in `version`."""

from __future__ import annotations

import pytest
from padbox.web.semver import coerce, satisfies


@pytest.mark.parametrize("selector", ["*", "", "x", "3.11.2", "3.11", "3.x", "3.11.x", "3", "=3.11.2", "v3.11.2",
                                      "^3.10", "^3.11.1", "~3.11", "~3.11.0", ">=3.10 <4", ">= 3.10", ">3.11.1",
                                      "<=3.11", "<3.12", "3.9 - 3.12", "2.x || 3.x", "3.11.2-beta"])
def test_selectors_that_match_3_11_2(selector: str) -> None:
    assert satisfies("3.11.2", selector)


@pytest.mark.parametrize("selector", ["2.x", "3.10", "3.11.3", "^3.12", "~3.10", ">3.11.2", "<3.11.2", ">=4",
                                      "<3.11", "3.0 - 3.10", "2.x || 4.x", "not a version", ">=3 <=3.10", ">*"])
def test_selectors_that_do_not_match_3_11_2(selector: str) -> None:
    assert not satisfies("3.11.2", selector)


@pytest.mark.parametrize(("version", "selector", "expected"), [
    ("0.2.5", "^0.2.3", True), ("0.3.0", "^0.2.3", False),
    ("0.0.3", "^0.0.3", True), ("0.0.4", "^0.0.3", False),
    ("0.9.0", "^0.x", True), ("1.0.0", "^0.x", False),
    ("1.9.9", "~1", True), ("2.0.0", "~1", False),
    ("12.2.0", "12", True), ("12.2.0", "> 11", True), ("12.2.0", "<= 12.1", False),
])
def test_caret_tilde_and_partial_versions_follow_npm(version: str, selector: str, expected: bool) -> None:
    assert satisfies(version, selector) is expected


def test_versions_that_are_not_semver_match_only_wildcards_or_themselves() -> None:
    assert satisfies("unknown", "*") and satisfies("unknown", "unknown")
    assert not satisfies("unknown", "1.x")
    assert coerce("gcc (Debian 12.2.0-14) 12.2.0") == (12, 2, 0)
    assert coerce("5.2") == (5, 2, 0)
    assert coerce("none") is None
