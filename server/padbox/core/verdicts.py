"""Verdict rules: how a stage's ending becomes one word. Pure, so every rule is unit-tested."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from padbox.core.protocol import Stage, Verdict


class StopReason(StrEnum):
    """Why the server (not the program) ended a stage."""

    TIMEOUT = "timeout"
    OUTPUT_LIMIT = "output_limit"
    CLIENT_SIGNAL = "client_signal"


@dataclass(frozen=True)
class Ending:
    """What is known when a stage's process is gone."""

    stage: Stage
    code: int | None
    signal: str | None
    oom: bool | None = None
    stop: StopReason | None = None
    cpu_ms: int | None = None
    cpu_limit_ms: int | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None


def _looks_out_of_memory(ending: Ending) -> bool:
    """Used only where the kernel's OOM counter cannot be read: killed, with peak memory near the limit."""
    if ending.signal != "SIGKILL" or ending.memory_bytes is None or ending.memory_limit_bytes is None:
        return False
    return ending.memory_bytes >= 0.9 * ending.memory_limit_bytes


def _out_of_cpu(ending: Ending) -> bool:
    if ending.signal == "SIGXCPU":
        return True
    return (
        ending.signal == "SIGKILL"
        and ending.cpu_ms is not None
        and ending.cpu_limit_ms is not None
        and ending.cpu_ms >= ending.cpu_limit_ms
    )


def decide(ending: Ending) -> Verdict:
    """The server's own reasons come first, then the kernel's, then the exit status."""
    if ending.stop is StopReason.OUTPUT_LIMIT:
        return Verdict.OUTPUT_LIMIT
    if ending.stop is StopReason.TIMEOUT:
        return Verdict.TIMEOUT
    if ending.oom or (ending.oom is None and _looks_out_of_memory(ending)):
        return Verdict.MEMORY_LIMIT
    if _out_of_cpu(ending):
        return Verdict.TIMEOUT
    succeeded = ending.code == 0 and ending.signal is None
    if ending.stop is StopReason.CLIENT_SIGNAL and not succeeded:
        return Verdict.KILLED
    if succeeded:
        return Verdict.OK
    return Verdict.COMPILE_ERROR if ending.stage is Stage.COMPILE else Verdict.RUNTIME_ERROR
