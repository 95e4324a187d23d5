from __future__ import annotations

import itertools
import os

import pytest

from padbox.core.protocol import ProtocolError
from padbox.core.protocol import check_file_name as server_check_file_name
from padbox_agent.names import BadFileName, check_file_name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("a\x00b", "contains a NUL byte"),
        ("/etc/passwd", "must be relative, not absolute"),
        ("/", "must be relative, not absolute"),
        ("x" * 256, "longer than 255 characters"),
        ("..", "must not contain '..', '.' or empty path parts"),
        ("../x", "must not contain '..', '.' or empty path parts"),
        ("a/../../x", "must not contain '..', '.' or empty path parts"),
        (".", "must not contain '..', '.' or empty path parts"),
        ("./a", "must not contain '..', '.' or empty path parts"),
        ("a//b", "must not contain '..', '.' or empty path parts"),
        ("a/", "must not contain '..', '.' or empty path parts"),
        ("a\\b", "must not contain a backslash"),
        ("..\\x", "must not contain a backslash"),
        ("é" * 128, "at most 255 bytes in UTF-8"),  # 128 characters, 256 bytes: ENAMETOOLONG on Linux
        ("\ud800.c", "not valid Unicode text"),
    ],
)
def test_a_dangerous_name_is_refused_saying_why(name: str, message: str) -> None:
    with pytest.raises(BadFileName, match=message):
        check_file_name(name)


@pytest.mark.parametrize(
    "name", ["main.py", "src/Main.java", "a/b/c.txt", "x" * 255, ".hidden", "..a", "a..", "~", "é.c"]
)
def test_an_ordinary_name_is_admitted(name: str) -> None:
    check_file_name(name)


def test_a_bad_name_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        check_file_name("..")


def test_no_admitted_name_leaves_the_work_directory() -> None:
    """Every name of up to five pieces built from the characters that matter to paths."""
    workdir = "/work"
    pieces = ["a", ".", "/", "\\", "~", "\x00"]
    admitted = 0
    for length in range(1, 6):
        for combination in itertools.product(pieces, repeat=length):
            name = "".join(combination)
            try:
                check_file_name(name)
            except BadFileName:
                continue
            admitted += 1
            path = os.path.normpath(os.path.join(workdir, name))
            assert path.startswith(workdir + "/"), name
    assert admitted > 100


def test_the_server_gives_the_same_reason_as_a_bad_request() -> None:
    with pytest.raises(ProtocolError, match="must be relative, not absolute") as caught:
        server_check_file_name("/etc/passwd")
    assert caught.value.code == "bad_request"
    server_check_file_name("main.py")
