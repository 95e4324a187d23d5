"""The one rule for the names of the files a run sends, shared by the server and the agent.

The server checks names before any container exists, so a client hears at once what is wrong; the agent
checks them again before it writes, because it must not trust its input stream to have come through
that server. Standard library only: the image has no padbox package.
"""

from __future__ import annotations

MAX_NAME_LENGTH = 255
MAX_PART_BYTES = 255  # Linux's NAME_MAX: a longer directory or file name cannot be created (ENAMETOOLONG)


class BadFileName(ValueError):
    """A file name that could leave the work directory or confuse a tool; the message says why."""


def check_file_name(name: str) -> None:
    """Raise BadFileName unless the name is a plain relative path that stays inside the work directory."""
    if not name:
        raise BadFileName("file name must not be empty")
    if "\x00" in name:
        raise BadFileName(f"file name {name!r} contains a NUL byte")
    if name.startswith("/"):
        raise BadFileName(f"file name {name!r} must be relative, not absolute")
    if len(name) > MAX_NAME_LENGTH:
        raise BadFileName(f"file name is longer than {MAX_NAME_LENGTH} characters")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise BadFileName(f"file name {name!r} must not contain '..', '.' or empty path parts")
    if "\\" in name:
        raise BadFileName(f"file name {name!r} must not contain a backslash")
    try:
        encoded = [part.encode("utf-8") for part in name.split("/")]
    except UnicodeEncodeError:  # a lone surrogate: no file system can hold it
        raise BadFileName(f"file name {name!r} is not valid Unicode text") from None
    if any(len(part) > MAX_PART_BYTES for part in encoded):
        raise BadFileName(f"each part of file name {name!r} must be at most {MAX_PART_BYTES} bytes in UTF-8")
