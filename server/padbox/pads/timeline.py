"""The timeline's marks as the pads record them: what a page's action becomes once accepted. Pure: no database,
no socket (service.Pads.mark checks who may report what and how fast, then stores the record made here).

The server's clock stamps every mark: a page's own clock is neither trusted nor needed, since the page reports a
paste or a focus change as it happens.
"""

from __future__ import annotations

from enum import StrEnum

from padbox.pads.messages import FocusAction, MarkAction, NoteAction, PasteAction
from padbox.pads.store import Author, MarkRecord


class MarkKind(StrEnum):
    PASTE = "paste"
    FOCUS_LOST = "focus_lost"
    FOCUS_REGAINED = "focus_regained"
    HIDDEN = "hidden"
    VISIBLE = "visible"
    NOTE = "note"


FOCUS_KINDS = {
    "lost": MarkKind.FOCUS_LOST,
    "regained": MarkKind.FOCUS_REGAINED,
    "hidden": MarkKind.HIDDEN,
    "visible": MarkKind.VISIBLE,
}
LOSSES = frozenset({MarkKind.FOCUS_LOST, MarkKind.HIDDEN})  # what the report counts as the page losing focus


def record(action: MarkAction, author: Author, at: float) -> MarkRecord:
    """The mark an accepted action stores."""
    if isinstance(action, PasteAction):
        return MarkRecord(at, MarkKind.PASTE.value, author, size=action.size)
    if isinstance(action, FocusAction):
        return MarkRecord(at, FOCUS_KINDS[action.state].value, author)
    assert isinstance(action, NoteAction)
    return MarkRecord(at, MarkKind.NOTE.value, author, text=action.text)
