"""Running a program against test cases, through the one run engine, and judging each case.

Every case is a run like any other (Runner.start: access, per-client caps, the global capacity and its queue,
limits, the sandbox, verdicts). How the cases are laid out on runs depends on the language:

- **no compile stage** (Python, JavaScript, ...): each case is its own run in its own fresh sandbox, and the
  cases run in parallel, at most `parallel` at once (below the per-client cap, so a test run never refuses
  itself);
- **a compile stage** (Java, C++, Go, ...): one test run (core/cases.py) compiles once and then runs every case
  as its own run stage in that sandbox, one after another. A build cannot leave its sandbox, so compiling once
  and running in parallel are not both possible; compiling once wins, as the issue asks, and a compile error is
  reported once.

Results are judged as each case finishes (`on_result`), so a page shows them one by one.

A test run is one start against the client's per-minute rate, however many cases it has: its caller counts it
(`Runner.count_start`, in QuestionService.run_tests, so a refusal is the request's) and every case here starts
unrated. Each case still holds one of the client's running sessions and a place in the global capacity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from padbox.core.cases import CaseInput
from padbox.core.events import AnyEvent, Error, Exited, Output, StageBegan, Stdout
from padbox.core.languages import Language
from padbox.core.protocol import ProtocolError, RunRequest, SourceFile, Stage, Verdict
from padbox.core.runner import Credentials, Runner
from padbox.questions.model import TestCase, diff, matches

KEPT_OUTPUT = 64 * 1024  # of each case's stdout and stderr, in its result
DEFAULT_PARALLEL = 4


class CaseResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One case's result. The owner's copy holds everything; `for_role` strips a hidden case for the others."""

    index: int
    name: str
    hidden: bool
    custom: bool = False  # one of the pad's own cases (the Tests panel), not the question's
    passed: bool
    verdict: str | None  # the run's verdict (ok, timeout, runtime_error, compile_error...), None on an error
    wall_ms: int | None = None
    cpu_ms: int | None = None
    memory_bytes: int | None = None
    stdin: str | None = None
    expected: str | None = None
    actual: str | None = None
    stderr: str | None = None
    diff: str | None = None
    error: str | None = None

    def for_role(self, owner: bool) -> CaseResult:
        """What a participant sees: a hidden case shows a non-owner only its pass or fail, verdict and time."""
        if owner or not self.hidden:
            return self
        return CaseResult(
            index=self.index,
            name=f"hidden {self.index + 1}",
            hidden=True,
            passed=self.passed,
            verdict=self.verdict,
            wall_ms=self.wall_ms,
        )


class CompileOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """The one compile of a test run that failed: its verdict and output, told once."""

    verdict: str
    output: str


@dataclass(frozen=True)
class CaseSpec:
    """A case to run: the question's or the pad's own."""

    case: TestCase
    custom: bool = False


def summary_line(passed: int, total: int, compile_failed: bool = False) -> str:
    line = f"{passed}/{total} passed"
    return f"{line} (compile error)" if compile_failed else line


@dataclass
class CaseFold:
    """One case's events folded: its output (bounded) and how its run stage ended."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    size: int = 0
    exited: Exited | None = None
    error: str | None = None

    def add(self, event: AnyEvent) -> None:
        if isinstance(event, Output) and self.size < 2 * KEPT_OUTPUT:
            (self.stdout if isinstance(event, Stdout) else self.stderr).append(event.data)
            self.size += len(event.data)
        elif isinstance(event, Exited):
            self.exited = event
        elif isinstance(event, Error):
            self.error = event.message

    def judge(self, index: int, spec: CaseSpec) -> CaseResult:
        """Pass: the run stage ended `ok` and its stdout matches under the case's comparison."""
        case = spec.case
        actual = "".join(self.stdout)[:KEPT_OUTPUT]
        exited = self.exited
        verdict = exited.verdict.value if exited is not None else None
        passed = exited is not None and exited.verdict is Verdict.OK
        passed = passed and matches(case.expected, actual, case.compare, case.tolerance)
        return CaseResult(
            index=index,
            name=case.name,
            hidden=case.hidden,
            custom=spec.custom,
            passed=passed,
            verdict=verdict,
            wall_ms=exited.wall_ms if exited else None,
            cpu_ms=exited.cpu_ms if exited else None,
            memory_bytes=exited.memory_bytes if exited else None,
            stdin=case.stdin,
            expected=case.expected,
            actual=actual,
            stderr="".join(self.stderr)[:KEPT_OUTPUT],
            diff=None if passed or exited is None else diff(case.expected, actual),
            error=self.error if exited is None else None,
        )


OnResult = Callable[[CaseResult], Awaitable[None]]


@dataclass
class Outcome:
    """A test run's end: every case's result in order, and the compile that failed if one did."""

    results: list[CaseResult]
    compile_failure: CompileOutcome | None = None
    run_ids: list[str] = field(default_factory=list)
    compiles: int = 0  # compile stages it took: 1 for a compiled language, whatever the number of cases

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def summary(self) -> str:
        return summary_line(self.passed, len(self.results), self.compile_failure is not None)


async def run_cases(
    runner: Runner,
    language: Language,
    files: tuple[SourceFile, ...],
    specs: Sequence[CaseSpec],
    credentials: Credentials,
    on_result: OnResult,
    parallel: int = DEFAULT_PARALLEL,
) -> Outcome:
    """Run `files` (in `language`, resolved by the caller from the door's catalogue) against every case;
    `on_result` as each one is judged. The caller has counted the test run's one start (Runner.count_start).
    Raises ProtocolError when the run cannot start at all (the door refused)."""
    # A Standard ML program written as a script has no compile stage, though its language has one.
    compiled = (language.stages(files[0])[0] if files else language.compile) is not None
    if compiled:
        return await _compiled(runner, language.id, files, specs, credentials, on_result)
    return await _parallel(runner, language.id, files, specs, credentials, on_result, parallel)


async def _parallel(
    runner: Runner,
    language: str,
    files: tuple[SourceFile, ...],
    specs: Sequence[CaseSpec],
    credentials: Credentials,
    on_result: OnResult,
    parallel: int,
) -> Outcome:
    gate = asyncio.Semaphore(max(1, parallel))
    results: list[CaseResult | None] = [None] * len(specs)
    run_ids: list[str] = []

    async def one(index: int, spec: CaseSpec) -> None:
        limits = {"run_timeout_s": spec.case.time_limit_s} if spec.case.time_limit_s else {}
        request = RunRequest(language=language, files=files, stdin=spec.case.stdin, limits=limits)
        fold = CaseFold()
        async with gate:
            try:
                participation = await runner.start(request, credentials, stdin_closed=True, rated=False)
            except ProtocolError as refused:
                fold.error = refused.message
            else:
                run_ids.append(participation.run.session.id)
                try:
                    while (frame := await participation.next_frame()) is not None:
                        fold.add(frame.event)
                finally:
                    participation.leave()
        results[index] = result = fold.judge(index, spec)
        await on_result(result)

    await asyncio.gather(*(one(i, spec) for i, spec in enumerate(specs)))
    return Outcome([r for r in results if r is not None], run_ids=run_ids)


async def _compiled(
    runner: Runner,
    language: str,
    files: tuple[SourceFile, ...],
    specs: Sequence[CaseSpec],
    credentials: Credentials,
    on_result: OnResult,
) -> Outcome:
    request = RunRequest(language=language, files=files)
    cases = tuple(CaseInput(spec.case.stdin, spec.case.time_limit_s) for spec in specs)
    participation = await runner.start(request, credentials, stdin_closed=True, cases=cases, rated=False)
    results: list[CaseResult] = []
    compile_fold: CaseFold | None = None
    current: CaseFold | None = None
    compiles = 0
    try:
        while (frame := await participation.next_frame()) is not None:
            event = frame.event
            if isinstance(event, StageBegan):
                if event.stage is Stage.COMPILE:
                    compile_fold = current = CaseFold()
                    compiles += 1
                else:
                    current = CaseFold()
                continue
            if current is None:
                continue
            current.add(event)
            if isinstance(event, Exited) and event.stage is Stage.RUN:
                index = len(results)
                results.append(current.judge(index, specs[index]))
                await on_result(results[-1])
                current = None
            elif isinstance(event, Error):
                break
    finally:
        participation.leave()
    failure = None
    if compile_fold is not None and compile_fold.exited is not None and compile_fold.exited.verdict is not Verdict.OK:
        output = "".join(compile_fold.stdout + compile_fold.stderr)[:KEPT_OUTPUT]
        failure = CompileOutcome(verdict=compile_fold.exited.verdict.value, output=output)
    error = participation.error
    for index in range(len(results), len(specs)):  # not run: the compile failed, or the sandbox went
        spec = specs[index]
        verdict = failure.verdict if failure else None
        reason = None if failure else (error.message if error else "the test run ended before this case ran")
        result = CaseResult(
            index=index,
            name=spec.case.name,
            hidden=spec.case.hidden,
            custom=spec.custom,
            passed=False,
            verdict=verdict,
            stdin=spec.case.stdin,
            expected=spec.case.expected,
            error=reason,
        )
        results.append(result)
        await on_result(result)
    return Outcome(results, failure, [participation.run.session.id], compiles)
