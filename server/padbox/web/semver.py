"""Semantic-version ranges as Piston reads them: what its clients send as `version`.

Piston picks a runtime with npm's `semver.satisfies`. node-semver (PyPI `node-semver`, imported as
`nodesemver`) is a port of that module and reads ranges the same way: it agreed with npm's semver 7
on every range and padbox version tried, where semantic_version's NpmSpec refuses ranges npm reads
(`>= 3.10`, `~>3.11`).

Kept here is what neither library does, because Piston never needs it: its runtimes all have semver
versions, while padbox's are what the image's tools print (`8.7`, `3.1.2.0`, `6.8.0.105`). So a
version is first coerced as npm's `semver.coerce` does (`3.1.2.0` -> `3.1.2`, `8.7` -> `8.7.0`); a
selector equal to the printed version matches it; a version with no number in it (`unknown`) matches
only a wildcard.
"""

from __future__ import annotations

import logging
import re

import nodesemver  # type: ignore[import-untyped]

# node-semver's range parsing takes time quadratic in a range's length; Piston's ranges are short.
MAX_SELECTOR_LENGTH = 256
WILDCARDS = ("", "*", "x", "X")

# npm's semver.coerce: the first run of up to three dot-separated numbers not inside a longer number.
_COERCE = re.compile(r"(?:^|\D)(\d{1,16})(?:\.(\d{1,16}))?(?:\.(\d{1,16}))?(?!\d)")

# It logs every range it cannot read, with a traceback, at INFO: a client's typo is not the server's news.
logging.getLogger("nodesemver").setLevel(logging.WARNING)


def coerce(text: str) -> str | None:
    """The first `major[.minor[.patch]]` in a version string as a semver version (`gcc 12.2.0` -> `12.2.0`,
    `8.7` -> `8.7.0`), or None when it holds no number."""
    found = _COERCE.search(text)
    if found is None:
        return None
    major, minor, patch = (int(part or 0) for part in found.groups())
    return f"{major}.{minor}.{patch}"


def satisfies(version: str, selector: str) -> bool:
    """Whether `version` (as the tool printed it) is one `selector`, an npm range, asks for. An unreadable
    selector matches nothing, except that a selector equal to the version string always matches."""
    if selector.strip() == version.strip():
        return True
    if len(selector) > MAX_SELECTOR_LENGTH:
        return False
    have = coerce(version)
    if have is None:
        return selector.strip() in WILDCARDS
    return bool(nodesemver.satisfies(have, selector))
