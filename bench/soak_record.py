"""The soak's record: what each client action came to, the 10-second samples, the targets and soak.md.

Pure code (no sockets, no clock, no Docker), so the judging and the arithmetic are unit-tested.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from padbox.client import Transcript
from padbox.core.protocol import ErrorCode, ServerType, Verdict

from .stats import percentile

OK = "ok"
PAD_OK = "pad ok"  # a pad session whose every keystroke reached the viewer and was read back after the room closed
BUSY = ErrorCode.BUSY.value
QUEUED = ServerType.QUEUED.value
# Refusals for lack of room and waits in the queue are what a full server should answer; nothing else is.
EXPECTED = frozenset({BUSY, QUEUED})
# Kinds that are neither the server's answer nor a failure: the soak's own bound on work in flight.
SKIPPED = "skipped"
FLAT_WITHIN = 0.10
MB = 1_000_000


def judge(t: Transcript, expected_output: str) -> list[str]:
    """The kinds one WebSocket run came to: `ok` or a failure, plus `queued` if it waited for a slot.

    `busy` is the server saying it is full (expected); any other error frame, a close other than
    1000/1001, another verdict or missing output is a failure named by what went wrong.
    """
    kinds = [QUEUED] if t.first(ServerType.QUEUED) is not None else []
    refusal = t.first(ServerType.ERROR)
    if refusal is not None:
        code = str(refusal.message.get("code"))
        kinds.append(BUSY if code == BUSY else f"error {code}")
    elif not t.closed_cleanly:
        kinds.append(f"close {t.close_code}")
    elif t.verdict != Verdict.OK:
        kinds.append(f"verdict {t.verdict}")
    elif expected_output not in t.text():
        kinds.append("wrong output")
    else:
        kinds.append(OK)
    return kinds


def judge_http(status: int, body: object, expected_output: str) -> str:
    """What one POST /api/v1/execute came to: `ok`, `busy` (503 or 429 with code busy) or a failure."""
    answer = body if isinstance(body, dict) else {}
    if status == 200:
        run = answer.get("run") or {}
        if answer.get("verdict") != Verdict.OK:
            return f"verdict {answer.get('verdict')}"
        return OK if expected_output in str(run.get("stdout", "")) else "wrong output"
    code = answer.get("code")
    if status in (429, 503) and code == BUSY:
        return BUSY
    return f"http {status} {code}"


def is_failure(kind: str) -> bool:
    return kind not in EXPECTED and kind not in (OK, PAD_OK, SKIPPED)


@dataclass
class Tally:
    """What the clients saw since the last sample; `take` hands it over and starts afresh."""

    counts: Counter[str] = field(default_factory=Counter)
    first_output_s: list[float] = field(default_factory=list)

    def add(self, *kinds: str) -> None:
        self.counts.update(kinds)

    def first_output(self, seconds: float) -> None:
        self.first_output_s.append(seconds)

    def take(self) -> tuple[Counter[str], list[float]]:
        taken = self.counts, self.first_output_s
        self.counts, self.first_output_s = Counter(), []
        return taken


@dataclass(frozen=True)
class Sample:
    """One ~10 s interval: the server's state at its end and what the clients saw during it."""

    t_s: float  # seconds since the load began
    rss_mb: float
    fds: int
    tasks: int
    containers: int
    load1: float
    counts: dict[str, int]
    first_output_ms: tuple[float, ...]

    @property
    def p50_ms(self) -> float | None:
        return round(percentile(self.first_output_ms, 50), 1) if self.first_output_ms else None

    @property
    def p99_ms(self) -> float | None:
        return round(percentile(self.first_output_ms, 99), 1) if self.first_output_ms else None

    @property
    def failures(self) -> int:
        return sum(n for kind, n in self.counts.items() if is_failure(kind))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


# How a window's samples are summed up. Memory is judged by its mean. Descriptors follow the sockets and sandboxes in
# flight at the sampling instant (20 at rest, 30-40 in a burst), so their mean follows the load of the moment; a leak
# is what stays open when the work is gone, which lifts the window's floor (its fewest).
STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {"mean": _mean, "floor": min}


@dataclass(frozen=True)
class Flatness:
    """A series' level just after warm-up against its level at the end of the run (by `statistic`)."""

    name: str
    statistic: str  # a key of STATISTICS
    warm: float
    end: float
    warm_window: tuple[float, float]  # seconds
    end_window: tuple[float, float]

    @property
    def change(self) -> float:
        return self.end / self.warm - 1 if self.warm else 0.0

    @property
    def met(self) -> bool:
        return abs(self.change) <= FLAT_WITHIN


def windows(duration_s: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Minutes 5-10 and the last 5 minutes of a 30-minute run; the same sixths of a shorter trial."""
    sixth = duration_s / 6
    return (sixth, 2 * sixth), (duration_s - sixth, duration_s)


def flatness(
    name: str, samples: Sequence[Sample], values: Sequence[float], duration_s: float, statistic: str = "mean"
) -> Flatness:
    warm, end = windows(duration_s)

    def level(window: tuple[float, float]) -> float:
        inside = [v for s, v in zip(samples, values, strict=True) if window[0] < s.t_s <= window[1]]
        return STATISTICS[statistic](inside) if inside else 0.0

    return Flatness(name, statistic, round(level(warm), 2), round(level(end), 2), warm, end)


@dataclass(frozen=True)
class Ending:
    """How the run ended: containers once the load was over, and after the server stopped."""

    containers_after_load: int  # the warm pool's sandboxes are expected here
    pool_size: int
    containers_after_stop: int  # all states; anything here leaked
    unfinished: int  # client actions still running at the end, cancelled
    server_log_errors: list[str]


@dataclass(frozen=True)
class Target:
    name: str
    met: bool
    detail: str


def targets(samples: Sequence[Sample], duration_s: float, ending: Ending) -> list[Target]:
    found = []
    for flat in (
        flatness("server RSS (MB)", samples, [s.rss_mb for s in samples], duration_s),
        flatness("open file descriptors", samples, [float(s.fds) for s in samples], duration_s, "floor"),
    ):
        found.append(
            Target(
                f"{flat.name} flat within {FLAT_WITHIN:.0%} after warm-up",
                flat.met,
                f"{flat.statistic} {flat.warm:g} in {_span(flat.warm_window)}, {flat.end:g} in "
                f"{_span(flat.end_window)}: {flat.change:+.1%}",
            )
        )
    leftover_runs = max(0, ending.containers_after_load - ending.pool_size)
    found.append(
        Target(
            "0 leaked containers at the end",
            ending.containers_after_stop == 0 and leftover_runs == 0,
            f"{ending.containers_after_load} once the load was over (the warm pool keeps "
            f"{ending.pool_size}), {ending.containers_after_stop} after the server stopped",
        )
    )
    totals = total_counts(samples)
    failures = {kind: n for kind, n in totals.items() if is_failure(kind)}
    if ending.unfinished:
        failures["unfinished at the end"] = ending.unfinished
    detail = ", ".join(f"{kind}: {n}" for kind, n in sorted(failures.items())) or "none"
    found.append(
        Target(
            "no error other than busy or queued",
            not failures,
            f"failures: {detail}; busy: {totals.get(BUSY, 0)}, queued: {totals.get(QUEUED, 0)}",
        )
    )
    return found


def total_counts(samples: Iterable[Sample]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for s in samples:
        totals.update(s.counts)
    return totals


def _span(window: tuple[float, float]) -> str:
    return f"{window[0] / 60:.3g}-{window[1] / 60:.3g} min"


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def markdown(samples: Sequence[Sample], duration_s: float, ending: Ending, context: dict[str, str]) -> str:
    """soak.md: how it was run, the targets and whether each was met, the machine's load, every sample."""
    found = targets(samples, duration_s, ending)
    totals = total_counts(samples)
    loads = [s.load1 for s in samples]
    all_first = [ms for s in samples for ms in s.first_output_ms]
    lines = [
        "# padbox soak",
        "",
        f"Run {context['started_at']} for {duration_s / 60:g} minutes against one server process "
        f"(`python -m padbox`, revision {context['revision']}), on {context['machine']}.",
        "",
        "Run it with `make soak` (30 minutes; `make soak SOAK_ARGS='--minutes 2'` for a trial, which writes its",
        "report to a temporary directory instead of here). It is not a test and CI never runs it.",
        "",
        "## Load",
        "",
        *[f"- {line}" for line in context["load"].splitlines()],
        "",
        f"Server settings: {context['settings']}.",
        "",
        "## Targets",
        "",
        "| target | met | detail |",
        "| --- | --- | --- |",
        *[f"| {t.name} | {'yes' if t.met else 'no'} | {t.detail} |" for t in found],
        "",
        "Flatness compares minutes 5-10 (after warm-up) with the last 5 minutes (the same sixths of a shorter "
        "run): memory by its mean; descriptors by their floor, the fewest open in the window, since at any "
        "instant they count the sockets and sandboxes in flight and only a leak lifts the floor.",
        "",
        f"Machine load (1-minute load average, sampled with the rest; the machine is shared and other work ran "
        f"at the same time): min {min(loads, default=0):.1f}, mean {sum(loads) / max(1, len(loads)):.1f}, "
        f"max {max(loads, default=0):.1f} on {context['cpus']} CPUs.",
        "",
        "## Totals",
        "",
        f"- client actions by outcome: {', '.join(f'{k}: {n}' for k, n in sorted(totals.items())) or 'none'}",
        "- first output of the steady WebSocket runs over the whole run: "
        + (
            f"p50 {percentile(all_first, 50):.1f} ms, p99 {percentile(all_first, 99):.1f} ms, {len(all_first)} runs"
            if all_first
            else "no samples"
        ),
        f"- server RSS {_first_last(samples, 'rss_mb')} MB, open descriptors {_first_last(samples, 'fds')}, "
        f"asyncio tasks {_first_last(samples, 'tasks')} (first sample → last sample)",
        f"- containers once the load was over: {ending.containers_after_load} (warm pool {ending.pool_size}); "
        f"after the server stopped: {ending.containers_after_stop}",
        f"- server log lines at ERROR or with a traceback: {len(ending.server_log_errors)}",
        *[f"  - `{line[:200]}`" for line in ending.server_log_errors[:10]],
        "",
        "![soak](soak.png)",
        "",
        "## Every sample",
        "",
        "Counts are of the interval ending at `t`; first output is of the steady WebSocket runs that finished in it.",
        "",
        "| t (s) | RSS (MB) | fds | tasks | containers | load | ok | first output p50 / p99 (ms) | queued | busy "
        "| failures |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in samples:
        failed = ", ".join(f"{k}: {n}" for k, n in sorted(s.counts.items()) if is_failure(k)) or "0"
        lines.append(
            f"| {s.t_s:.0f} | {s.rss_mb:.1f} | {s.fds} | {s.tasks} | {s.containers} | {s.load1:.1f} "
            f"| {s.counts.get(OK, 0)} | {_cell(s.p50_ms)} / {_cell(s.p99_ms)} | {s.counts.get(QUEUED, 0)} "
            f"| {s.counts.get(BUSY, 0)} | {failed} |"
        )
    return "\n".join(lines) + "\n"


def _first_last(samples: Sequence[Sample], attribute: str) -> str:
    if not samples:
        return "n/a"
    return f"{getattr(samples[0], attribute):g} → {getattr(samples[-1], attribute):g}"
