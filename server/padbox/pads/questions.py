"""What pads ask of a question bank, and nothing more: the bank (padbox.questions) sits above the pads and plugs
this in, so a pad made from a question starts from its starter and is linked to it."""

from __future__ import annotations

from typing import Protocol

from padbox.core.runner import Credentials
from padbox.pads.messages import NewPad


class QuestionSource(Protocol):
    async def lay_out(self, request: NewPad) -> NewPad:
        """The request with the question's title and the starter for its language filled in; ProtocolError for
        an unknown question."""
        ...

    async def attach(self, pad_id: str, slug: str) -> None:
        """Record that the pad is on the question."""
        ...

    async def run_tests(self, pad_id: str, key: str, name: str | None, credentials: Credentials) -> str:
        """Start the pad's test run as `key`'s holder (edit and owner); its id. ProtocolError when refused."""
        ...
