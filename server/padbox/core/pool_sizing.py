"""How big the warm pool should be, and how many sandboxes it may start at once: pure arithmetic over an
injected clock, the runs' arrivals and the measured start times, so every rule is tested without Docker.

Size (Little's law): sandboxes in flight = arrival rate x start time. The pool keeps that many warm, times
a headroom for the bursts' variance, between a floor and a ceiling, and never more than the free slots
under PADBOX_MAX_SESSIONS nor more than the memory budget holds. The rate is the highest of three sliding
windows (1/30, 1/6 and the whole of PADBOX_POOL_WINDOW_S): a burst raises the target within a second,
a steady stream holds it, and once no run has come for a whole window the target is back at the floor.

Refill concurrency follows what the engine sustains (additive increase, multiplicative decrease): while a
sandbox started with others in flight takes little longer than the fastest start seen, the engine has room
and one more may start at once; when starts take several times longer, the engine is saturated and the
concurrency halves (judged on the smoothed start time: one slow start is noise). Saturating it only
slows every start, the runs' included.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

# A first guess at a sandbox's start time, replaced by the first measurement.
INITIAL_START_S = 0.5
# A first guess at a renewal's time (namespace mode), from the first renewable sandbox handed out until one is
# measured: a burst's first runs should not be sized for container starts when their hosts will come back.
INITIAL_RENEW_S = 0.05
INITIAL_CONCURRENCY = 2  # two starts at once suit even a 2-core engine; measurements move it from there
START_TIME_WEIGHT = 0.3  # each new start time's weight in the moving average
HEADROOM = 2.0  # arrivals come in clumps: Little's law gives the mean, a burst needs about twice that
WINDOW_FRACTIONS = (1 / 30, 1 / 6, 1.0)
# Starts this much slower than the fastest seen: the engine has room (grow), or is saturated (halve).
ROOM_RATIO = 1.5
SATURATED_RATIO = 2.5
BASELINE_DRIFT = 0.02  # the fastest start is forgotten slowly, so a machine that got busier is believed


@dataclass(frozen=True)
class PoolBounds:
    """The operator's bounds on the pool (config.py's PADBOX_POOL_*)."""

    floor: int
    ceiling: int
    window_s: float
    memory_budget_mb: int
    sandbox_memory_mb: int  # what one pooled sandbox may use (its memory limit), counted against the budget
    max_concurrency: int

    @property
    def memory_cap(self) -> int:
        """Sandboxes the memory budget holds."""
        return self.memory_budget_mb // max(1, self.sandbox_memory_mb)


class PoolSizing:
    """The pool's target and refill concurrency, from what it is told: arrivals and start times."""

    def __init__(self, bounds: PoolBounds, clock: Clock) -> None:
        self.bounds = bounds
        self.clock = clock
        self.start_s = INITIAL_START_S
        self.concurrency = min(INITIAL_CONCURRENCY, bounds.max_concurrency)
        self._fastest_s: float | None = None
        self._arrivals: deque[float] = deque()
        self.renew_s: float | None = None  # namespace mode: how long a used sandbox takes to get a fresh box
        self._renewed_at = -math.inf

    def arrival(self) -> None:
        """A run asked for a sandbox (whether the pool had one or not)."""
        self._arrivals.append(self.clock())
        self._forget_old()

    def rate(self) -> float:
        """Arrivals per second: the highest over the sliding windows."""
        self._forget_old()
        now = self.clock()
        best = 0.0
        for fraction in WINDOW_FRACTIONS:
            window = self.bounds.window_s * fraction
            recent = sum(1 for t in self._arrivals if t > now - window)
            best = max(best, recent / window)
        return best

    def target(self, room: int) -> int:
        """Warm sandboxes to keep now, given `room`: the slots not held by running sessions. While used sandboxes
        come back renewed (namespace mode, within the window), a sandbox is "started" in the time a renewal takes,
        not a container's: hosts circulate, and a pool sized for container starts would only make containers that
        nobody needs."""
        renewing = self.renew_s is not None and self.clock() - self._renewed_at < self.bounds.window_s
        start_s = min(self.start_s, self.renew_s) if renewing and self.renew_s is not None else self.start_s
        wanted = math.ceil(self.rate() * start_s * HEADROOM)
        bounded = min(max(wanted, self.bounds.floor), self.bounds.ceiling)
        return max(0, min(bounded, room, self.bounds.memory_cap))

    def started(self, seconds: float, in_flight: int) -> None:
        """A sandbox took `seconds` to start, with `in_flight` starts under way (itself included) when it began."""
        if self._fastest_s is None:
            self.start_s = self._fastest_s = seconds
        else:
            self.start_s += (seconds - self.start_s) * START_TIME_WEIGHT
            self._fastest_s = min(seconds, self._fastest_s + (seconds - self._fastest_s) * BASELINE_DRIFT)
        if self.start_s > self._fastest_s * SATURATED_RATIO:  # smoothed: one slow start on a busy machine is noise
            self.concurrency = max(1, self.concurrency // 2)
        elif seconds <= self._fastest_s * ROOM_RATIO and in_flight >= self.concurrency:
            # only a start that used the whole allowance shows the engine can take one more
            self.concurrency = min(self.bounds.max_concurrency, self.concurrency + 1)

    def expect_renewals(self) -> None:
        """A renewable sandbox was handed out: until a renewal is measured, assume renewals take INITIAL_RENEW_S."""
        if self.renew_s is None:
            self.renew_s = INITIAL_RENEW_S
            self._renewed_at = self.clock()

    def renewed(self, seconds: float) -> None:
        """A used sandbox took `seconds` to be renewed for another run."""
        self.renew_s = seconds if self.renew_s is None else self.renew_s + (seconds - self.renew_s) * START_TIME_WEIGHT
        self._renewed_at = self.clock()

    def _forget_old(self) -> None:
        horizon = self.clock() - self.bounds.window_s
        while self._arrivals and self._arrivals[0] <= horizon:
            self._arrivals.popleft()
