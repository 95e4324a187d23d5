from __future__ import annotations

import pytest

from padbox.core.limits import LimitPolicy, Limits
from padbox.core.protocol import ErrorCode, ProtocolError

POLICY = LimitPolicy(defaults=Limits(10, 10, 5, 256, 64, 1024), maxima=Limits(60, 60, 30, 1024, 256, 4096))


def test_silence_means_defaults() -> None:
    assert POLICY.resolve({}) == POLICY.defaults


def test_requested_values_replace_defaults() -> None:
    limits = POLICY.resolve({"memory_mb": 512, "run_timeout_s": 2.5})
    assert (limits.memory_mb, limits.run_timeout_s, limits.pids) == (512, 2.5, 64)
    assert limits.memory_bytes == 512 << 20 and limits.output_bytes == 1024 << 10


def test_language_overrides_raise_defaults_but_never_past_maxima() -> None:
    limits = POLICY.resolve({}, {"memory_mb": 2048, "compile_timeout_s": 30})
    assert (limits.memory_mb, limits.compile_timeout_s) == (1024, 30)
    assert POLICY.resolve({"memory_mb": 128}, {"memory_mb": 512}).memory_mb == 128


@pytest.mark.parametrize(
    "requested",
    [
        {"memory_mb": 1025},
        {"pids": 0},
        {"cpu_time_s": -1},
        {"output_kb": "1"},
        {"pids": 2.5},
        {"memory_mb": True},
        {"disk_mb": 1},
    ],
)
def test_out_of_range_unknown_or_mistyped_limits_are_refused(requested: dict[str, object]) -> None:
    with pytest.raises(ProtocolError) as caught:
        POLICY.resolve(requested)
    assert caught.value.code is ErrorCode.LIMIT_EXCEEDED
    assert next(iter(requested)) in caught.value.message


def test_policy_refuses_defaults_above_maxima() -> None:
    with pytest.raises(ValueError):
        LimitPolicy(defaults=Limits(100, 10, 5, 256, 64, 1024), maxima=POLICY.maxima).check()
