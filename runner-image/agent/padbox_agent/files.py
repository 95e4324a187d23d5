"""Writing a run's source files (the FILES frame) into the work directory.

Every name is checked by the same rule the server applies (names.py) before anything is written: the
agent does not assume its input came through that server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from padbox_agent.names import check_file_name

TYPE_CHECKING = False  # typing (like dataclasses) costs every sandbox's start; only the type checker needs it
if TYPE_CHECKING:
    from typing import Any


class SourceFile:
    __slots__ = ("name", "content")

    def __init__(self, name: str, content: str) -> None:
        self.name = name  # relative to the work directory
        self.content = content

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SourceFile) and (self.name, self.content) == (other.name, other.content)

    def __hash__(self) -> int:
        return hash((self.name, self.content))

    def __repr__(self) -> str:
        return f"SourceFile({self.name!r}, {self.content!r})"


def parse_files(obj: Mapping[str, Any]) -> list[SourceFile]:
    """The files of a FILES frame's JSON object; ValueError saying what is wrong (names included)."""
    items = obj.get("files")
    if not isinstance(items, list):
        raise ValueError("FILES field 'files' must be a list of {name, content} objects")
    files: list[SourceFile] = []
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("content"), str)
        ):
            raise ValueError("each file must be an object with a string 'name' and a string 'content'")
        check_file_name(item["name"])
        files.append(SourceFile(item["name"], item["content"]))
    return files


def write_files(files: list[SourceFile], workdir: str) -> None:
    """Create each file (and its folders) under workdir, replacing what is there. A symbolic link in the
    file's own place is refused rather than followed (O_NOFOLLOW). OSError when the disk says no."""
    # Not realpath: a box's work directory is reached through /proc/<keeper>/root, a link that realpath would
    # resolve to the agent's own /work.
    root = os.path.abspath(workdir)
    for file in files:
        path = os.path.join(root, file.name)
        if os.path.commonpath([root, os.path.normpath(path)]) != root:  # check_file_name makes this impossible
            raise ValueError(f"file name {file.name!r} leaves the work directory")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(file.content.encode())
