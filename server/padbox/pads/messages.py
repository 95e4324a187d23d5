"""Every pad message as a type, defined once: the events socket's JSON messages, and the HTTP API's
request and answer bodies (web/openapi.py documents the API from these, docs/pads.md describes them).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from padbox.core.protocol import MAX_FILES, ErrorCode, SourceFile
from padbox.pads.model import MAX_NAME, MAX_TITLE, PadErrorCode, PadRole, malformed


# --- the events socket (/ws/pads/<id>/events), server -> client ------------------------------------------
class PadEvent(msgspec.Struct, frozen=True, tag_field="type"):
    """A message on a pad's events socket; its class's tag is its `type`."""


class RunInfo(msgspec.Struct, frozen=True):
    """A pad run going on: join it on /ws with `run_id` and `key` (a driver's key for edit and owner)."""

    run_id: str
    key: str
    by: str
    at: float


class PadState(PadEvent, frozen=True, tag="pad"):
    """The first message: the pad as it stands, and its run if one is going."""

    id: str
    role: PadRole
    title: str
    language: str
    ended: bool
    run: RunInfo | None


class PadRunStarted(PadEvent, frozen=True, tag="pad_run"):
    run_id: str
    key: str
    by: str
    at: float


class PadRunFinished(PadEvent, frozen=True, tag="pad_run_finished"):
    run_id: str
    verdict: str | None
    at: float


class PadEnded(PadEvent, frozen=True, tag="pad_ended"):
    at: float


class PadClosed(PadEvent, frozen=True, tag="pad_closed"):
    """Sent before the server closes the socket itself (shutdown, a replaced key)."""

    reason: str


AnyPadEvent = PadState | PadRunStarted | PadRunFinished | PadEnded | PadClosed

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AnyPadEvent)


# --- the events socket, client -> server -------------------------------------------------------------------
class PadAction(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    """A message a page sends on its events socket; its class's tag is its `type`. A refused action is answered
    on that socket alone with an `error` (PadRefusal); an accepted one is seen by every socket through its events."""


class RunTestsAction(PadAction, frozen=True, tag="run_tests"):
    """Start the pad's test run (edit and owner), as POST /api/v1/pads/<id>/tests does; `name` defaults to the
    socket's own name."""

    name: Annotated[str, Meta(max_length=MAX_NAME)] | None = None


AnyPadAction = RunTestsAction
ACTIONS = frozenset({"run_tests"})


def read_action(text: str | bytes) -> AnyPadAction | None:
    """A client's message on the events socket as an action; None when it is none (a ping, a newer page's
    message: ignored, as before there were actions); a malformed action is a PadError (`bad_request`)."""
    try:
        raw = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None
    if not isinstance(raw, dict) or raw.get("type") not in ACTIONS:
        return None
    try:
        return msgspec.convert(raw, AnyPadAction)
    except msgspec.ValidationError as problem:
        raise malformed(f"{raw['type']}: {problem}") from None


def encode(event: PadEvent) -> str:
    return _encoder.encode(event).decode()


def decode(text: str | bytes) -> AnyPadEvent:
    """An events-socket message read back (tests, clients)."""
    return _decoder.decode(text)


# --- HTTP request bodies ----------------------------------------------------------------------------------
class NewPad(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """POST /api/v1/pads: all optional; the defaults are a Python pad with its first program."""

    language: Annotated[str, Meta(min_length=1, max_length=64, examples=["python"])] | None = None
    title: Annotated[str, Meta(max_length=MAX_TITLE)] | None = None
    files: Annotated[tuple[SourceFile, ...], Meta(min_length=1, max_length=MAX_FILES)] | None = None
    entry: Annotated[str, Meta(min_length=1, description="The file that runs (default: the first).")] | None = None
    question: Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="A question's slug.")] | None = None


class RunPad(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """POST /api/v1/pads/<id>/runs: who presses Run (as the history records it). The run has a terminal; its
    size is the last `resize` a driver sends after joining (docs/protocol.md)."""

    name: Annotated[str, Meta(max_length=MAX_NAME)] | None = None


class NewLink(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """POST /api/v1/pads/<id>/links: the role whose key is replaced."""

    role: PadRole


class Notes(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The owner's private notes (GET and PUT /api/v1/pads/<id>/notes)."""

    notes: Annotated[str, Meta(max_length=65536)]


class PadRefusal(msgspec.Struct, frozen=True, tag_field="type", tag="error"):
    """A refusal on the pad API: the `error` object of the rest of the API, with the pads' own codes."""

    code: Annotated[
        str,
        Meta(
            description="A pad's own code ("
            + ", ".join(c.value for c in PadErrorCode)
            + ") or one of the API's ("
            + ", ".join(c.value for c in ErrorCode)
            + ")."
        ),
    ]
    message: str


# --- HTTP answers -----------------------------------------------------------------------------------------
class RoleStrings(msgspec.Struct, frozen=True):
    owner: str
    edit: str
    view: str


class PadCreated(msgspec.Struct, frozen=True):
    """201: the pad's id, its three links (the key in the fragment) and the bare keys."""

    id: str
    links: RoleStrings
    keys: RoleStrings


class PadInfo(msgspec.Struct, frozen=True):
    """GET /api/v1/pads/<id>: the pad as the key's holder may see it."""

    id: str
    role: PadRole
    title: str
    language: str
    entry: str
    ended: bool
    created_at: float
    ended_at: float | None


class RunAccepted(msgspec.Struct, frozen=True):
    """202: the pad's run has started; every events socket is told its id and key."""

    run_id: str


class Link(msgspec.Struct, frozen=True):
    """200: the new key and link of a role; the old key no longer opens the pad."""

    role: PadRole
    key: str
    link: str


class Ended(msgspec.Struct, frozen=True):
    ended: bool
    ended_at: float


class AuthorInfo(msgspec.Struct, frozen=True):
    name: str
    role: PadRole


class UpdateEntry(msgspec.Struct, frozen=True):
    """One accepted edit: applied in `seq` order to an empty Y.Doc, the updates replay the pad."""

    seq: int
    at: Annotated[float, Meta(description="Seconds since the epoch.")]
    author: AuthorInfo
    update: Annotated[str, Meta(description="A Yjs v1 update, base64.")]


class SettingEntry(msgspec.Struct, frozen=True):
    """One change of an owner's setting of the pad (`language_help`: true or false)."""

    at: Annotated[float, Meta(description="Seconds since the epoch.")]
    author: AuthorInfo
    setting: str
    value: Any


class LanguageHelp(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """GET and PUT /api/v1/pads/<id>/language-help: whether the pad has language help (the owner's switch)."""

    enabled: bool


class RunError(msgspec.Struct, frozen=True):
    code: str
    message: str


class RunEntry(msgspec.Struct, frozen=True):
    """One run of the pad: who, when, the files as run, the output (capped), the verdict and usage."""

    run_id: str
    at: float
    finished_at: float | None
    author: AuthorInfo
    language: str
    files: tuple[SourceFile, ...]
    output: str
    truncated: bool
    verdict: str | None
    exit_code: int | None
    signal: str | None
    usage: dict[str, Any] | None
    error: RunError | None


class History(msgspec.Struct, frozen=True):
    """GET /api/v1/pads/<id>/history (owner): the pad, every edit, every run."""

    pad: PadInfo
    updates: tuple[UpdateEntry, ...]
    runs: tuple[RunEntry, ...]
    settings: tuple[SettingEntry, ...] = ()


class Export(msgspec.Struct, frozen=True):
    """GET /api/v1/pads/<id>/export (owner): the history, and the whole document as one Yjs update."""

    pad: PadInfo
    updates: tuple[UpdateEntry, ...]
    runs: tuple[RunEntry, ...]
    state: Annotated[str, Meta(description="The document's whole state, a Yjs v1 update, base64.")]
