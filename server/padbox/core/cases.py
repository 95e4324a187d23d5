"""A test run: one program checked against several inputs, compiled once.

A `CaseSession` is a Session whose run stage happens once per case, in the same sandbox, after a single compile:
each case has its own stdin (closed after it), its own time limit, its own output budget and its own `exit` with
its verdict. The agent kills every process after each stage, so no process of one case sees the next; what the
cases share is the sandbox's work directory (the compiled program, and any file a case wrote there).

Why not a fresh sandbox per case for compiled languages: the build cannot leave its sandbox (the host never reads
a sandbox's files, on purpose), so each sandbox would compile again. A language without a compile stage has nothing
to share, and its cases run as independent runs, in parallel (padbox.questions.test_runs decides).

Clients tell the cases apart by order: the n-th `stage` event with stage `run` begins case n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from padbox.core.events import Started
from padbox.core.protocol import Stage, Verdict
from padbox.core.sandbox import Sandbox
from padbox.core.session import OutputBudget, PendingInput, Session


@dataclass(frozen=True)
class CaseInput:
    """What one case gives the program: all its stdin, and its wall-clock limit (None: the run's)."""

    stdin: str
    timeout_s: float | None = None


class CaseSession(Session):
    """Compile once, then one run stage per case."""

    def __init__(self, *args: Any, cases: tuple[CaseInput, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cases = cases

    async def run_in(self, sandbox: Sandbox) -> None:
        plan = self.plan
        self._sandbox, self.run_id = sandbox, sandbox.run_id
        try:
            await self.emit(Started(self.id, plan.language.id, plan.version))
            language, entry = plan.language, plan.files[0]
            compile, run = language.stages(entry)
            if compile is not None:
                argv = language.command(compile, entry)
                result = await self._stage(sandbox, Stage.COMPILE, argv, plan.limits.compile_timeout_s)
                if result is None or result.verdict is not Verdict.OK:
                    return  # the compile error is reported once, not once per case
            argv = language.command(run, entry, plan.args)
            for case in self.cases:
                self._input = PendingInput()
                self._input.put(case.stdin.encode())
                self._input.put(None)
                self._output = OutputBudget(plan.limits.output_bytes)
                self._pending_signal = None
                timeout = min(case.timeout_s or plan.limits.run_timeout_s, plan.limits.run_timeout_s)
                if await self._stage(sandbox, Stage.RUN, argv, timeout) is None:
                    return  # stopped for good (a driver's SIGKILL removed the sandbox): the rest are not run
        finally:
            self._sandbox = None
