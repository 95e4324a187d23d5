from __future__ import annotations

import os
from pathlib import Path

import pytest

from padbox_agent.files import SourceFile, parse_files, write_files
from padbox_agent.names import BadFileName


def test_files_are_written_with_their_folders_and_replace_what_was_there(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("old and longer")
    files = [{"name": "main.py", "content": "print(1)"}, {"name": "pkg/sub/é.txt", "content": "ü"}]
    write_files(parse_files({"files": files}), str(tmp_path))
    assert (tmp_path / "main.py").read_text() == "print(1)"
    assert (tmp_path / "pkg/sub/é.txt").read_text() == "ü"
    assert oct((tmp_path / "main.py").stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_symbolic_link_in_a_files_place_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("precious")
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.py").symlink_to(outside)
    with pytest.raises(OSError):
        write_files([SourceFile("main.py", "overwritten?")], str(work))
    assert outside.read_text() == "precious"


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/./b", "a\\b", ""])
def test_a_dangerous_name_is_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(BadFileName):
        parse_files({"files": [{"name": "fine.txt", "content": ""}, {"name": name, "content": "x"}]})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "obj",
    [{}, {"files": {}}, {"files": ["main.py"]}, {"files": [{"name": "a"}]}, {"files": [{"name": 1, "content": ""}]}],
)
def test_a_malformed_files_object_is_a_value_error(obj: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="'files' must be a list|string 'name' and a string 'content'"):
        parse_files(obj)
