"""What the language-help manager needs from a sandbox backend: a language server started in a sandbox of its
own, spoken to through the image's shim (runner-image/lsp/shim.py) one JSON object at a time.

An interface, so padbox.lsp knows no Docker: backends/lsp_docker.py implements it, and assembly.py plugs it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class LaunchFailed(Exception):
    """The sandbox could not be made or started (the engine refused, the image is missing)."""


class Channel(Protocol):
    """One language server's sandbox."""

    name: str  # the container's short id, for logs and tests

    async def send(self, command: dict[str, Any]) -> None:
        """One command for the shim ({"lsp": ...}, {"write": ...}, {"remove": ...}); raises OSError once the
        sandbox is gone."""

    async def receive(self) -> dict[str, Any] | None:
        """The shim's next object; None once the sandbox has ended."""

    async def why_ended(self, code: int | None) -> str:
        """Why the language server ended, in a participant's words ("ran out of memory", "exited with code 1");
        `code` is its exit status as the shim reported it (negative: the signal), None if the shim said nothing."""

    def close(self) -> None:
        """Detach and remove the sandbox, in the background; never blocks."""


class Launcher(Protocol):
    async def launch(self, pad_id: str, language: str, argv: Sequence[str]) -> Channel:
        """A started sandbox running `argv` under the shim; LaunchFailed when it cannot be made."""

    async def settled(self) -> None:
        """Every removal started has finished (the node's stop waits for it)."""
