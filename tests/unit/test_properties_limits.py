"""Properties of the limit arithmetic: whatever a client asks for and whatever a language's defaults say,
a resolved limit lies between MINIMA and this server's maxima, and a bad request is `limit_exceeded`."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from padbox.core.limits import _INTEGER_LIMITS, LIMIT_NAMES, MINIMA, LimitPolicy, Limits
from padbox.core.protocol import ErrorCode, ProtocolError


def bounded(name: str, low: float, high: float = 1e6) -> st.SearchStrategy[float]:
    if name in _INTEGER_LIMITS:
        return st.integers(math.ceil(low), int(high))
    return st.floats(low, high)


@st.composite
def policies(draw: st.DrawFn) -> LimitPolicy:
    """Any valid configuration: MINIMA <= default <= maximum for every limit."""
    maxima = {name: draw(bounded(name, MINIMA[name])) for name in LIMIT_NAMES}
    defaults = {name: draw(bounded(name, MINIMA[name], maxima[name])) for name in LIMIT_NAMES}
    policy = LimitPolicy(defaults=Limits(**defaults), maxima=Limits(**maxima))
    policy.check()
    return policy


NUMBERS = st.integers(-10, 10**7) | st.floats() | st.sampled_from([0, 0.1, 8, 32, 1e-9])
VALUES = NUMBERS | st.booleans() | st.none() | st.text(max_size=3) | st.lists(st.integers(), max_size=2)
REQUESTS = st.dictionaries(st.sampled_from(LIMIT_NAMES) | st.text(max_size=8), VALUES, max_size=6)
# A language's own defaults (languages.toml): numbers, any size, below the minima too.
OVERRIDES = st.dictionaries(st.sampled_from(LIMIT_NAMES), st.integers(0, 10**7) | st.floats(0, 1e7), max_size=6)


@settings(max_examples=200)
@given(policies(), REQUESTS, OVERRIDES | st.none())
def test_resolved_limits_stay_between_the_minima_and_the_servers_maxima(
    policy: LimitPolicy, requested: dict[str, Any], overrides: dict[str, float] | None
) -> None:
    try:
        limits = policy.resolve(requested, overrides)
    except ProtocolError as exc:
        assert exc.code is ErrorCode.LIMIT_EXCEEDED and exc.message
        return
    for name in LIMIT_NAMES:
        value = getattr(limits, name)
        assert MINIMA[name] <= value <= getattr(policy.maxima, name), name
        if name in _INTEGER_LIMITS:
            assert isinstance(value, int) and not isinstance(value, bool), name
        if name in requested:
            assert value == requested[name]  # what a client asked for, when admitted, is what it gets
