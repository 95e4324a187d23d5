"""Summaries of timing samples. Pure, so the arithmetic can be checked by eye and by tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(samples: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile: always a value that was really measured, never an interpolation."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    """Milliseconds from a request to its first output byte, over `runs` measured runs."""

    runs: int
    p50_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = [s * 1000 for s in seconds]
        return cls(
            len(ms), round(percentile(ms, 50), 2), round(percentile(ms, 95), 2), round(min(ms), 2), round(max(ms), 2)
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
