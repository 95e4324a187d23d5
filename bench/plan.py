"""How much the bench measures: the full plan for `make bench`, and a quick one for checking the bench itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Plan:
    latency_runs: int = 60  # the issue asks for at least 50
    latency_warmup: int = 3  # first runs of each kind pay for cold caches; not counted
    rate_concurrency: tuple[int, ...] = (1, 4, 8)
    rate_warmup_s: float = 3.0  # long enough to drain the warm pool, so the window sees the sustained rate
    rate_window_s: float = 6.0
    rate_rounds: int = 2  # windows per contender and concurrency, taken in turns with the other contender
    output_bytes: int = 50_000_000
    output_repeats: int = 3
    idle_levels: tuple[int, ...] = (50, 100, 200)
    burst_runs: int = 30  # the "one client back to back, 30 runs"; each of four clients does as many
    burst_pause_s: float = 5.0  # between the burst parts
    acquire_runs: int = 10  # per language
    pad_participants: tuple[int, ...] = (2, 8, 32)  # the issue's sizes; 32 is PADBOX_PAD_MAX_PARTICIPANTS' default
    pad_edit_rounds: int = 200  # edits per size; each gives a sample from every other participant
    pad_memory_pads: int = 40
    pad_memory_participants: int = 5  # per pad at the second memory level
    question_rounds: int = 10  # each: one Run tests of 10 cases, then 10 single runs in turn
    lsp_requests: int = 100  # completions per language after warm-up
    lsp_diagnostic_rounds: int = 20  # edits that add or remove an error, each followed by a pause
    lsp_edit_rounds: int = 200  # edits with 8 participants, half with language help on, half off

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


QUICK = Plan(
    latency_runs=8,
    latency_warmup=1,
    rate_warmup_s=1.0,
    rate_window_s=2.0,
    rate_rounds=1,
    output_bytes=5_000_000,
    output_repeats=1,
    idle_levels=(5, 10),
    burst_runs=8,
    burst_pause_s=1.0,
    acquire_runs=2,
    pad_edit_rounds=10,
    pad_memory_pads=4,
    pad_memory_participants=2,
    question_rounds=2,
    lsp_requests=10,
    lsp_diagnostic_rounds=4,
    lsp_edit_rounds=20,
)
