"""What a pad is, as pure values and functions: roles and what each may do, capability keys, limits
arithmetic, pad errors and close codes, and the document layout read from (or written into) a pycrdt Doc.

No I/O here: the store (store.py), the rooms (rooms.py) and the transports (web/pads.py) ask these
questions, so a rule exists once and is unit-tested in milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pycrdt import Doc, Map, Text

from padbox.core.protocol import (
    ErrorCode,
    PadCloseCode,
    ProtocolError,
    Role,
    RunRequest,
    SourceFile,
    bad_request,
    check_file_name,
)

PAD_ID_BYTES = 12  # 96 bits: the id is not a secret (the key is), but it must not be enumerable either
PAD_KEY_BYTES = 24  # 192 bits from the OS's cryptographic source, one key per role
MAX_PAD_FILES = 64
MAX_TITLE = 200
MAX_NAME = 64  # a participant's display name, as recorded in the history
RATE_BURST_S = 4.0  # a socket may send this many seconds' worth of messages at once (a paste, a reconnect)
NO_SUCH_PAD = "no pad has that id and key"
DEFAULT_TITLE = "Untitled pad"
FILES = "files"
META = "meta"


class PadRole(StrEnum):
    """What a key grants. `owner` > `edit` > `view`; each key grants exactly its own role."""

    OWNER = "owner"
    EDIT = "edit"
    VIEW = "view"

    @property
    def can_edit(self) -> bool:
        """Change the document; start, type into and stop runs."""
        return self is not PadRole.VIEW

    @property
    def is_owner(self) -> bool:
        """End the pad, make new links, read the notes, the history and the export."""
        return self is PadRole.OWNER

    @property
    def run_role(self) -> Role:
        """The role this pad role takes in the pad's shared runs (and whose key it is handed)."""
        return Role.DRIVER if self.can_edit else Role.VIEWER


class PadErrorCode(StrEnum):
    """Refusals only pads give; the rest (unauthorized, forbidden_origin, bad_request, busy) are the runs'."""

    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    PAD_ENDED = "pad_ended"
    TOO_LARGE = "too_large"


class PadError(ProtocolError):
    """A refusal on a pad: its code, its HTTP status and, for a socket, its close code."""

    def __init__(self, code: PadErrorCode | ErrorCode, message: str, status: int, close: PadCloseCode) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, message)
        self.pad_code = code
        self.status = status
        self.close = close

    @property
    def wire_code(self) -> str:
        return str(self.pad_code.value)


def not_found() -> PadError:
    return PadError(PadErrorCode.NOT_FOUND, NO_SUCH_PAD, 404, PadCloseCode.NOT_FOUND)


def forbidden(what: str) -> PadError:
    return PadError(PadErrorCode.FORBIDDEN, what, 403, PadCloseCode.NOT_FOUND)


def pad_ended() -> PadError:
    return PadError(PadErrorCode.PAD_ENDED, "this pad has ended: it is read-only now", 409, PadCloseCode.NOT_FOUND)


def too_large(what: str) -> PadError:
    return PadError(PadErrorCode.TOO_LARGE, what, 413, PadCloseCode.TOO_LARGE)


def malformed(what: str = "malformed Yjs message") -> PadError:
    return PadError(ErrorCode.BAD_REQUEST, what, 400, PadCloseCode.MALFORMED)


def too_fast(what: str) -> PadError:
    return PadError(ErrorCode.BUSY, what, 429, PadCloseCode.TOO_FAST)


def new_pad_id() -> str:
    return secrets.token_urlsafe(PAD_ID_BYTES)


def new_key() -> str:
    return secrets.token_urlsafe(PAD_KEY_BYTES)


def key_digest(key: str) -> str:
    """What is stored of a key: its SHA-256, so a copy of the database opens no pad."""
    return hashlib.sha256(key.encode()).hexdigest()


def role_of(key: str, digests: Mapping[PadRole, str]) -> PadRole | None:
    """The role a key grants, or None. Every role's digest is compared, in constant time, whatever matches:
    the time taken says nothing about which key (if any) was close."""
    candidate = key_digest(key).encode()
    found: PadRole | None = None
    for role in PadRole:
        if hmac.compare_digest(candidate, digests[role].encode()):
            found = role
    return found


def display_name(raw: str | None, role: PadRole) -> str:
    """The name a participant is recorded under: what it gave (trimmed, bounded), else its role."""
    name = " ".join((raw or "").split())[:MAX_NAME]
    return name or role.value


@dataclass(frozen=True)
class PadLimits:
    """The bounds every pad's room enforces (config.py declares where they come from)."""

    max_bytes: int = 512 * 1024
    max_files: int = MAX_PAD_FILES
    max_participants: int = 32
    messages_per_s: float = 60.0


@dataclass
class RateBudget:
    """A token bucket: `rate` messages a second, up to RATE_BURST_S seconds' worth at once."""

    rate: float
    tokens: float = field(init=False)
    at: float | None = None

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    @property
    def capacity(self) -> float:
        return self.rate * RATE_BURST_S

    def take(self, now: float) -> bool:
        """Spend one message's worth at time `now` (seconds, monotonic); False when none is left."""
        if self.at is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# --- the document layout ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PadContent:
    """What a pad's document holds, as plain values: its files (by name), language, entry, title."""

    files: tuple[SourceFile, ...]
    language: str
    entry: str
    title: str


def write_content(doc: Doc[Any], content: PadContent) -> None:
    """Lay out a new pad's document: `files` (name -> Y.Text) and `meta` (language, entry, title)."""
    files = doc.get(FILES, type=Map)
    meta = doc.get(META, type=Map)
    with doc.transaction():
        for file in content.files:
            files[file.name] = Text(file.content)
        meta["language"] = content.language
        meta["entry"] = content.entry
        meta["title"] = content.title


def read_content(doc: Doc[Any]) -> PadContent:
    """The document as it stands. Anything not of the layout (a number where text belongs) is read as text,
    so a client's odd edit can never make the pad unreadable."""
    files = doc.get(FILES, type=Map)
    meta = doc.get(META, type=Map)
    # A Y.Map has no order of its own: files are read by name, so every reader sees the same order.
    entries = tuple(SourceFile(str(name), str(value)) for name, value in sorted(files.items()))
    return PadContent(
        files=entries,
        language=_text(meta.get("language")),
        entry=_text(meta.get("entry")),
        title=_text(meta.get("title")) or DEFAULT_TITLE,
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def file_count(doc: Doc[Any]) -> int:
    return len(doc.get(FILES, type=Map))


def document_size(doc: Doc[Any]) -> int:
    """The document's size: its whole state encoded as one Yjs update."""
    return len(doc.get_update())


def check_limits(doc: Doc[Any], limits: PadLimits) -> None:
    """Raise PadError (too_large) when a document passes the size or the file count."""
    size = document_size(doc)
    if size > limits.max_bytes:
        raise too_large(f"the edit would make the pad {size // 1024} KiB, over its {limits.max_bytes // 1024} KiB")
    count = file_count(doc)
    if count > limits.max_files:
        raise too_large(f"the edit would give the pad {count} files; a pad holds at most {limits.max_files}")


def with_update(state: bytes, update: bytes) -> Doc[Any]:
    """A scratch document: `state` with `update` applied. Edits are tried here first, so one that breaks a
    limit (or does not decode: ValueError) never touches the pad's own document."""
    trial: Doc[Any] = Doc()
    if state:
        trial.apply_update(state)
    trial.apply_update(update)
    return trial


def run_request(content: PadContent, tty: bool = True, cols: int = 80, rows: int = 24) -> RunRequest:
    """The run of a pad's document as it stands: its language, its files with the entry first (the runner
    runs the first file). Raises ProtocolError when there is nothing runnable."""
    if not content.files:
        raise bad_request("the pad has no files to run")
    if not content.language:
        raise bad_request("the pad has no language: pick one")
    for file in content.files:
        check_file_name(file.name)
    entry = next((f for f in content.files if f.name == content.entry), content.files[0])
    ordered = (entry, *(f for f in content.files if f is not entry))
    return RunRequest(language=content.language, files=ordered, tty=tty, cols=cols, rows=rows)


def initial_content(
    language: str, title: str | None, files: Iterable[SourceFile] | None, entry: str | None, main_file: str, hello: str
) -> PadContent:
    """A new pad's content from a creation request: the defaults fill what it left out."""
    chosen = tuple(files or ()) or (SourceFile(main_file, hello),)
    if len(chosen) > MAX_PAD_FILES:
        raise bad_request(f"a pad holds at most {MAX_PAD_FILES} files")
    names = [f.name for f in chosen]
    for name in names:
        check_file_name(name)
    for index, name in enumerate(names):
        if name in names[:index]:
            raise bad_request(f"file name {name!r} appears twice")
    if entry is not None and entry not in names:
        raise bad_request(f"'entry' names {entry!r}, which is not one of the files")
    clean_title = " ".join((title or "").split())[:MAX_TITLE] or DEFAULT_TITLE
    return PadContent(files=chosen, language=language, entry=entry or chosen[0].name, title=clean_title)
