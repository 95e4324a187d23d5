"""Resource limits: what a client may ask for, checked before any container exists. Pure arithmetic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from padbox.core.protocol import ErrorCode, ProtocolError


@dataclass(frozen=True)
class Limits:
    compile_timeout_s: float
    run_timeout_s: float
    cpu_time_s: float
    memory_mb: int
    pids: int
    output_kb: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024

    @property
    def output_bytes(self) -> int:
        return self.output_kb * 1024


LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))
_INTEGER_LIMITS = frozenset(f.name for f in fields(Limits) if f.type in ("int", int))

# Below these a sandbox cannot even start its helper process; asking for less is a mistake, not a limit.
MINIMA: Mapping[str, float] = {
    "compile_timeout_s": 0.1,
    "run_timeout_s": 0.1,
    "cpu_time_s": 0.1,
    "memory_mb": 32,
    "pids": 8,
    "output_kb": 1,
}


@dataclass(frozen=True)
class LimitPolicy:
    """Defaults applied when a client is silent, and the maxima it may not pass."""

    defaults: Limits
    maxima: Limits

    def check(self) -> None:
        for name in LIMIT_NAMES:
            if getattr(self.defaults, name) > getattr(self.maxima, name):
                raise ValueError(f"default {name} is above its maximum")

    def resolve(self, requested: Mapping[str, Any], overrides: Mapping[str, float] | None = None) -> Limits:
        """Merge a client's `limits` object over the defaults (and a language's own defaults).

        Unknown names, wrong types, values below a minimum and values past a maximum are
        `limit_exceeded` errors that name the field and the allowed range.
        """
        base = self.defaults
        for name, value in (overrides or {}).items():
            # A language's own default is the operator's word, not the client's: kept within this server's
            # range (MINIMA, maxima) rather than refused, and whole where the limit counts whole units.
            value = int(value) if name in _INTEGER_LIMITS else value
            base = replace(base, **{name: min(max(value, MINIMA[name]), getattr(self.maxima, name))})
        chosen: dict[str, Any] = {}
        for name, value in requested.items():
            if name not in LIMIT_NAMES:
                raise ProtocolError(
                    ErrorCode.LIMIT_EXCEEDED, f"unknown limit {name!r}; known limits: {', '.join(LIMIT_NAMES)}"
                )
            integral = name in _INTEGER_LIMITS
            if isinstance(value, bool) or not isinstance(value, int if integral else (int, float)):
                kind = "an integer" if integral else "a number"
                raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"limit {name!r} must be {kind}")
            low, high = MINIMA[name], getattr(self.maxima, name)
            if not low <= value <= high:
                raise ProtocolError(ErrorCode.LIMIT_EXCEEDED, f"limit {name!r} must be between {low} and {high}")
            chosen[name] = value
        return replace(base, **chosen)
