"""What the bench adds to padbox.client: a run the server refused or broke stops the bench.

A figure taken from such a run would mean nothing, so every run the bench times is checked here first.
"""

from __future__ import annotations

from typing import Any

from padbox.client import DEFLATE, Transcript, run_program
from padbox.core.protocol import ServerType, Verdict


class RunFailed(RuntimeError):
    """The server refused or broke a run: the measurement would be meaningless, so the bench stops."""


def check(t: Transcript) -> Transcript:
    """The transcript of a run the server accepted and, if the socket has closed, closed cleanly."""
    refusal = t.first(ServerType.ERROR)
    if refusal is not None:
        raise RunFailed(f"padbox refused the run: {refusal.message.get('code')}: {refusal.message.get('message')}")
    if t.closed and not t.closed_cleanly:
        raise RunFailed(f"the socket closed abnormally (close code {t.close_code})")
    return t


def hello_output_s(t: Transcript) -> float:
    """Seconds from `run` to a hello world's first output, once it has printed and exited cleanly."""
    first = t.first(ServerType.STDOUT)
    if first is None or t.verdict != Verdict.OK:
        raise RunFailed(f"the hello world did not print and exit cleanly: {t.frames}")
    return first.at


async def run_once(url: str, source: str, compression: str | None = DEFLATE, **fields: Any) -> Transcript:
    """A whole Python run on a socket of its own, read to the close.

    Only the protocol is timed (frames are stamped from sending `run`), not the socket's opening, so
    padbox's figure is comparable with starting a process; callers that want the connection in it time it.
    """
    t = await run_program(url, timeout=None, compression=compression, language="python", source=source, **fields)
    return check(t)
