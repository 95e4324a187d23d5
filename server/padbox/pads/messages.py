"""Every pad message as a type, defined once: the events socket's JSON messages, and the HTTP API's
request and answer bodies (web/openapi.py documents the API from these, docs/pads.md describes them).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from padbox.core.protocol import MAX_FILES, ErrorCode, SourceFile
from padbox.pads.model import MAX_NAME, MAX_TITLE, PadErrorCode, PadRole, malformed


# --- the events socket (/ws/pads/<id>/events), server -> client ------------------------------------------
class AuthorInfo(msgspec.Struct, frozen=True):
    name: str
    role: PadRole


class PadEvent(msgspec.Struct, frozen=True, tag_field="type"):
    """A message on a pad's events socket; its class's tag is its `type`."""


class RunInfo(msgspec.Struct, frozen=True):
    """A pad run going on: join it on /ws with `run_id` and `key` (a driver's key for edit and owner)."""

    run_id: str
    key: str
    by: str
    at: float


class PadState(PadEvent, frozen=True, tag="pad"):
    """The first message: the pad as it stands, and its run if one is going. `paste_chars`: an insertion of more
    than this many characters in one local edit is reported as a paste (PADBOX_PAD_PASTE_CHARS)."""

    id: str
    role: PadRole
    title: str
    language: str
    ended: bool
    run: RunInfo | None
    paste_chars: int = 0


class PadRunStarted(PadEvent, frozen=True, tag="pad_run"):
    run_id: str
    key: str
    by: str
    at: float


class PadRunFinished(PadEvent, frozen=True, tag="pad_run_finished"):
    run_id: str
    verdict: str | None
    at: float
    exit_code: int | None = None  # the program's, when it exited (the embed API reports it: docs/embed.md)


class PadEnded(PadEvent, frozen=True, tag="pad_ended"):
    at: float


class PadClosed(PadEvent, frozen=True, tag="pad_closed"):
    """Sent before the server closes the socket itself (shutdown, a replaced key)."""

    reason: str


class MarkEntry(msgspec.Struct, frozen=True):
    """A moment on the pad's timeline besides edits and runs: `paste` (with its `size` in characters),
    `focus_lost`, `focus_regained`, `hidden`, `visible` (an editor's page), or the owner's pinned `note` (with its
    `text`; only ever sent to the owner)."""

    at: Annotated[float, Meta(description="Seconds since the epoch, the server's clock.")]
    kind: str
    author: AuthorInfo
    size: int | None = None
    text: str | None = None


class PadMark(PadEvent, frozen=True, tag="pad_mark"):
    """A mark as it is recorded: sent to the owner's events sockets only."""

    mark: MarkEntry


AnyPadEvent = PadState | PadRunStarted | PadRunFinished | PadEnded | PadClosed | PadMark

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


class PasteAction(PadAction, frozen=True, tag="paste"):
    """An editor's page saw one local edit insert more than `paste_chars` characters (the pasted text itself is in
    the document's history already): recorded with its size."""

    size: Annotated[int, Meta(ge=1, le=100_000_000)]


class FocusAction(PadAction, frozen=True, tag="focus"):
    """An editor's page lost or regained focus, or became hidden or visible."""

    state: Literal["lost", "regained", "hidden", "visible"]


class NoteAction(PadAction, frozen=True, tag="note"):
    """The owner pins a note to this moment of the interview (owner only; never sent to anyone else)."""

    text: Annotated[str, Meta(min_length=1, max_length=4096)]


AnyPadAction = RunTestsAction | PasteAction | FocusAction | NoteAction
ACTIONS = frozenset({"run_tests", "paste", "focus", "note"})
MarkAction = PasteAction | FocusAction | NoteAction


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
        action: AnyPadAction = msgspec.convert(raw, AnyPadAction)
    except msgspec.ValidationError as problem:
        raise malformed(f"{raw['type']}: {problem}") from None
    return action


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
    transcript: Annotated[
        tuple[tuple[float, str, str], ...],
        Meta(description='The terminal as it went: [at, "out" | "in", text], typed input included.'),
    ] = ()
    transcript_truncated: bool = False


class History(msgspec.Struct, frozen=True):
    """GET /api/v1/pads/<id>/history (owner): the pad, every edit, every run, every mark (notes included)."""

    pad: PadInfo
    updates: tuple[UpdateEntry, ...]
    runs: tuple[RunEntry, ...]
    marks: tuple[MarkEntry, ...] = ()
    settings: tuple[SettingEntry, ...] = ()


class Export(msgspec.Struct, frozen=True):
    """GET /api/v1/pads/<id>/export (owner): the history, and the whole document as one Yjs update."""

    pad: PadInfo
    updates: tuple[UpdateEntry, ...]
    runs: tuple[RunEntry, ...]
    state: Annotated[str, Meta(description="The document's whole state, a Yjs v1 update, base64.")]
    marks: tuple[MarkEntry, ...] = ()
    settings: tuple[SettingEntry, ...] = ()
    report: Report | None = None


# --- the interview's report (GET /api/v1/pads/<id>/report, the export, the webhook) ----------------------------
class ReportPad(msgspec.Struct, frozen=True):
    id: str
    title: str
    language: str
    created_at: float
    ended_at: float | None
    duration_s: Annotated[float, Meta(description="From creation to the end (or to now, for a pad not ended).")]


class ReportFile(msgspec.Struct, frozen=True):
    name: str
    content: str


class ReportCode(msgspec.Struct, frozen=True):
    """The document as it stands (the final code, once the pad has ended)."""

    language: str
    entry: str
    files: tuple[ReportFile, ...]


class ReportQuestion(msgspec.Struct, frozen=True):
    slug: str
    title: str
    difficulty: str


class ReportTestRun(msgspec.Struct, frozen=True):
    """One Run tests: its summary and every case's result (the owner's full view)."""

    run_id: str
    at: float
    by: str
    language: str
    passed: int
    total: int
    summary: str
    results: tuple[dict[str, Any], ...]


class ReportNote(msgspec.Struct, frozen=True):
    at: float
    text: str


class ReportMoments(msgspec.Struct, frozen=True):
    """How many, and when."""

    count: int
    at: tuple[float, ...]


class ReportPaste(msgspec.Struct, frozen=True):
    at: float
    size: int
    by: str


class ReportPastes(msgspec.Struct, frozen=True):
    count: int
    characters: int
    items: tuple[ReportPaste, ...]


class ReportRun(msgspec.Struct, frozen=True):
    run_id: str
    at: float
    finished_at: float | None
    by: str
    language: str
    verdict: str | None
    exit_code: int | None
    wall_ms: int | None
    output: str
    truncated: bool
    input: Annotated[str, Meta(description="Everything typed into the run, in order.")]


class Report(msgspec.Struct, frozen=True):
    """The interview's result in one document: what the owner reads after it, what the webhook posts."""

    pad: ReportPad
    question: ReportQuestion | None
    test_runs: tuple[ReportTestRun, ...]
    code: ReportCode
    notes: Annotated[str, Meta(description="The owner's notes as one text (GET/PUT .../notes).")]
    pinned_notes: tuple[ReportNote, ...]
    pastes: ReportPastes
    focus_lost: Annotated[
        ReportMoments,
        Meta(description="An editor's page going away: losing focus or becoming hidden (a tab switch, both, is one)."),
    ]
    runs: tuple[ReportRun, ...]


class WebhookBody(msgspec.Struct, frozen=True):
    """What PADBOX_WEBHOOK_URL is posted when a pad ends (signed: docs/pads.md, "Webhooks")."""

    event: Literal["pad.ended"]
    delivery_id: str
    report: Report
