"""The soak's judging and arithmetic (bench/soak_record.py): what counts as a failure, the flatness windows,
and the targets soak.md reports. No server, no Docker."""

from __future__ import annotations

import re
from typing import Any

from bench.soak_record import (
    BUSY,
    OK,
    PAD_OK,
    QUEUED,
    SKIPPED,
    Ending,
    Sample,
    Tally,
    flatness,
    is_failure,
    judge,
    judge_http,
    markdown,
    targets,
    windows,
)
from padbox.client import Frame, Transcript


def transcript(*messages: dict[str, Any], close_code: int | None = 1000) -> Transcript:
    return Transcript([Frame(0.01 * i, m) for i, m in enumerate(messages)], closed=True, close_code=close_code)


def exited(verdict: str = "ok") -> dict[str, Any]:
    return {
        "type": "exit",
        "stage": "run",
        "code": 0,
        "signal": None,
        "verdict": verdict,
        "wall_ms": 5,
        "cpu_ms": 1,
        "memory_bytes": 1,
    }


OUT = {"type": "stdout", "stage": "run", "data": "soak-ok\n"}


def sample(t_s: float, rss_mb: float = 70.0, fds: int = 40, counts: dict[str, int] | None = None) -> Sample:
    return Sample(t_s, rss_mb, fds, 12, 2, 1.0, counts or {OK: 20}, (25.0, 30.0))


def test_a_clean_run_is_ok_and_a_queued_one_is_ok_and_queued() -> None:
    assert judge(transcript(OUT, exited()), "soak-ok") == [OK]
    assert judge(transcript({"type": "queued", "position": 1}, OUT, exited()), "soak-ok") == [QUEUED, OK]


def test_busy_is_expected_and_any_other_error_is_a_failure() -> None:
    busy = transcript({"type": "error", "code": "busy", "message": "full"}, close_code=1013)
    internal = transcript({"type": "error", "code": "internal", "message": "docker"}, close_code=1011)
    assert judge(busy, "soak-ok") == [BUSY] and not is_failure(BUSY)
    assert judge(internal, "soak-ok") == ["error internal"] and is_failure("error internal")


def test_a_pad_session_that_kept_every_keystroke_is_a_success_and_one_that_lost_any_is_not() -> None:
    assert not is_failure(PAD_OK)
    assert is_failure("pad edits lost after the room closed") and is_failure("pad edits not seen by the viewer")


def test_a_dropped_socket_a_wrong_verdict_or_missing_output_are_failures() -> None:
    assert judge(transcript(OUT, close_code=None), "soak-ok") == ["close None"]
    assert judge(transcript(OUT, exited("timeout")), "soak-ok") == ["verdict timeout"]
    assert judge(transcript(exited()), "soak-ok") == ["wrong output"]
    assert not is_failure(SKIPPED) and not is_failure(QUEUED)


def test_http_answers_are_judged_like_websocket_runs() -> None:
    assert judge_http(200, {"verdict": "ok", "run": {"stdout": "soak-ok\n"}}, "soak-ok") == OK
    assert judge_http(503, {"code": "busy", "message": "full"}, "soak-ok") == BUSY
    assert judge_http(500, {"code": "internal"}, "soak-ok") == "http 500 internal"
    assert judge_http(200, {"verdict": "ok", "run": {"stdout": ""}}, "soak-ok") == "wrong output"


def test_the_tally_hands_over_an_interval_and_starts_afresh() -> None:
    tally = Tally()
    tally.add(OK, QUEUED)
    tally.first_output(0.025)
    counts, first = tally.take()
    assert counts == {OK: 1, QUEUED: 1} and first == [0.025]
    assert tally.take() == ({}, [])


def test_flatness_compares_minutes_5_to_10_with_the_last_5_minutes() -> None:
    assert windows(1800) == ((300, 600), (1500, 1800))
    samples = [sample(t, rss_mb=70.0 if t <= 600 else 80.0) for t in range(10, 1801, 10)]
    flat = flatness("rss", samples, [s.rss_mb for s in samples], 1800)
    assert (flat.warm, flat.end) == (70.0, 80.0)
    assert round(flat.change, 3) == 0.143 and not flat.met


def test_descriptors_are_judged_by_their_floor_so_busy_moments_do_not_count_as_a_leak() -> None:
    busy_early = [sample(t, fds=40 if t in (350, 400, 450, 500) else 20) for t in range(10, 1801, 10)]
    fds = [float(s.fds) for s in busy_early]
    assert flatness("fds", busy_early, fds, 1800, "floor").met
    assert not flatness("fds", busy_early, fds, 1800).met, "by its mean the busy minutes look like a 10% drop"
    leaking = [sample(t, fds=20 + t // 300) for t in range(10, 1801, 10)]
    assert not flatness("fds", leaking, [float(s.fds) for s in leaking], 1800, "floor").met


def test_targets_name_every_failure_and_leftover_container() -> None:
    samples = [sample(t, counts={OK: 5, BUSY: 1, "error internal": 1 if t == 60 else 0}) for t in range(10, 121, 10)]
    found = {t.name: t for t in targets(samples, 120, Ending(3, 2, 0, 0, []))}
    assert found["server RSS (MB) flat within 10% after warm-up"].met
    assert not found["0 leaked containers at the end"].met, "one more than the warm pool once the load was over"
    errors = found["no error other than busy or queued"]
    assert not errors.met and "error internal: 1" in errors.detail and "busy: 12" in errors.detail


def test_the_report_states_each_target_and_has_a_row_per_sample() -> None:
    samples = [sample(t) for t in range(10, 121, 10)]
    context = {
        "started_at": "now",
        "revision": "abc",
        "machine": "here",
        "cpus": "2",
        "load": "steady\npads: none",
        "settings": "PADBOX_MAX_SESSIONS=8",
    }
    text = markdown(samples, 120, Ending(2, 2, 0, 0, []), context)
    assert "| 0 leaked containers at the end | yes |" in text
    assert "| no error other than busy or queued | yes |" in text
    assert "- pads: none" in text and "make soak" in text
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \| \d", line)]
    assert len(rows) == len(samples) and rows[0].startswith("| 10 | 70.0 | 40 | 12 | 2 |")
