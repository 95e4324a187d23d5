from __future__ import annotations

import resource
import signal

from padbox_agent.report import exit_report


def usage(user_s: float, system_s: float, maxrss_kib: int) -> resource.struct_rusage:
    fields = [0.0, 0.0] + [0] * 14
    fields[0], fields[1], fields[2] = user_s, system_s, maxrss_kib
    return resource.struct_rusage(fields)


def test_a_normal_exit_reports_its_code_time_cpu_and_memory() -> None:
    report = exit_report(3 << 8, usage(0.25, 0.125, 2048), wall_s=1.2345, oom_before=0, oom_after=0)
    assert report == {
        "code": 3,
        "signal": None,
        "wall_ms": 1234,
        "cpu_ms": 375,
        "memory_bytes": 2048 * 1024,
        "oom": False,
    }


def test_a_killed_program_reports_the_signal_by_name_and_no_code() -> None:
    report = exit_report(signal.SIGKILL, usage(0, 0, 1), wall_s=0, oom_before=2, oom_after=3)
    assert report["code"] is None and report["signal"] == "SIGKILL"
    assert report["oom"] is True  # the cgroup counted a kill during the stage


def test_a_real_time_signal_is_named_by_number() -> None:
    report = exit_report(signal.SIGRTMIN + 3, None, wall_s=0, oom_before=None, oom_after=None)
    assert report["signal"] == f"SIG{signal.SIGRTMIN + 3}"


def test_unknown_usage_and_an_invisible_oom_counter_are_none() -> None:
    report = exit_report(0, None, wall_s=0.5, oom_before=None, oom_after=4)
    assert report == {"code": 0, "signal": None, "wall_ms": 500, "cpu_ms": None, "memory_bytes": None, "oom": None}
