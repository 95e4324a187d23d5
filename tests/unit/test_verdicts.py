from __future__ import annotations

import pytest

from padbox.core.protocol import Stage, Verdict
from padbox.core.verdicts import Ending, StopReason, decide

MB = 1 << 20
CAP, HIGH, LOW = 64 * MB, 63 * MB, 10 * MB


@pytest.mark.parametrize(
    ("ending", "verdict"),
    [
        (Ending(Stage.RUN, 0, None), Verdict.OK),
        (Ending(Stage.RUN, 3, None), Verdict.RUNTIME_ERROR),
        (Ending(Stage.COMPILE, 1, None), Verdict.COMPILE_ERROR),
        (Ending(Stage.RUN, None, "SIGSEGV"), Verdict.RUNTIME_ERROR),
        (Ending(Stage.RUN, None, "SIGKILL", stop=StopReason.TIMEOUT), Verdict.TIMEOUT),
        (Ending(Stage.COMPILE, None, "SIGKILL", stop=StopReason.TIMEOUT), Verdict.TIMEOUT),
        (Ending(Stage.RUN, None, "SIGKILL", stop=StopReason.OUTPUT_LIMIT, oom=True), Verdict.OUTPUT_LIMIT),
        (Ending(Stage.RUN, None, "SIGKILL", oom=True), Verdict.MEMORY_LIMIT),
        (Ending(Stage.RUN, 137, None, oom=True), Verdict.MEMORY_LIMIT),
        (Ending(Stage.RUN, None, "SIGXCPU"), Verdict.TIMEOUT),
        (Ending(Stage.RUN, None, "SIGKILL", cpu_ms=2000, cpu_limit_ms=2000), Verdict.TIMEOUT),
        (Ending(Stage.RUN, None, "SIGINT", stop=StopReason.CLIENT_SIGNAL), Verdict.KILLED),
        (Ending(Stage.RUN, 1, None, stop=StopReason.CLIENT_SIGNAL), Verdict.KILLED),
        (Ending(Stage.RUN, 0, None, stop=StopReason.CLIENT_SIGNAL), Verdict.OK),
        # Where the kernel's OOM counter cannot be read, a SIGKILL at the memory ceiling is still memory_limit.
        (Ending(Stage.RUN, None, "SIGKILL", oom=None, memory_bytes=HIGH, memory_limit_bytes=CAP), Verdict.MEMORY_LIMIT),
        (
            Ending(Stage.RUN, None, "SIGKILL", oom=False, memory_bytes=HIGH, memory_limit_bytes=CAP),
            Verdict.RUNTIME_ERROR,
        ),
        (Ending(Stage.RUN, None, "SIGKILL", oom=None, memory_bytes=LOW, memory_limit_bytes=CAP), Verdict.RUNTIME_ERROR),
    ],
)
def test_verdict_rules(ending: Ending, verdict: Verdict) -> None:
    assert decide(ending) is verdict
