"""The run engine (core/session.py, core/pool.py) against an in-memory sandbox: event order, output caps,
every verdict and stop reason, input, resize and the pool's fallback, each in milliseconds."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from padbox.config import SHIPPED_MANIFEST, Settings
from padbox.core import session as session_module
from padbox.core.capacity import Capacity
from padbox.core.events import AnyEvent, Exited, StageBegan, Started, Stderr, Stdout
from padbox.core.languages import Catalogue
from padbox.core.pool import SandboxSupply, WarmPool
from padbox.core.pool_sizing import PoolBounds, PoolSizing
from padbox.core.protocol import ErrorCode, ProtocolError, RunRequest, Signal, SourceFile, Stage, Verdict
from padbox.core.sandbox import Origin, ProcessExit, SandboxError, SandboxLost, Stream
from padbox.core.session import MAX_PENDING_INPUT, Plan, Session, plan_run
from tests.eventually import barrier, eventually
from tests.unit.fake_sandbox import (
    AwaitEof,
    Echo,
    Fail,
    FakeBackend,
    FakeSandbox,
    Hang,
    Program,
    Sleep,
    Vanish,
    Write,
)

CATALOGUE = Catalogue.load(SHIPPED_MANIFEST).with_versions({"python": "3.fake"})
POLICY = Settings.from_env({}).limits
SOURCES = {"python": "print('hi')", "c": "int main(void) { return 0; }", "sml": 'val () = print "hi"'}
FAST = {"compile_timeout_s": 1, "run_timeout_s": 1}  # nothing here should come near these


def make_plan(language: str = "python", limits: dict[str, Any] | None = None, **request: Any) -> Plan:
    run = RunRequest(language=language, source=SOURCES[language], limits={**FAST, **(limits or {})}, **request)
    return plan_run(run, CATALOGUE, POLICY)


class Trial:
    """One session over one fake sandbox, with everything the session emitted."""

    def __init__(self, *programs: Program, ignores_stop: bool = False, **plan: Any) -> None:
        self.backend = FakeBackend(*programs, ignores_stop=ignores_stop)
        self.events: list[AnyEvent] = []
        self.session = Session(make_plan(**plan), self._record, hard_stop=self.backend.discard)
        self.task: asyncio.Task[None] | None = None

    async def _record(self, event: AnyEvent) -> None:
        self.events.append(event)

    async def start(self) -> FakeSandbox:
        plan = self.session.plan
        sandbox = await self.backend.create(plan.limits, plan.run_id, Origin.COLD)
        self.task = asyncio.create_task(self.session.run_in(sandbox))
        return sandbox

    async def finish(self) -> list[AnyEvent]:
        assert self.task is not None
        await asyncio.wait_for(self.task, 2)
        return self.events

    @property
    def sandbox(self) -> FakeSandbox:
        return self.backend.sandboxes[0]

    @property
    def exits(self) -> list[Exited]:
        return [e for e in self.events if isinstance(e, Exited)]


async def run(*programs: Program, **plan: Any) -> Trial:
    """A session run to its end."""
    trial = Trial(*programs, **plan)
    await trial.start()
    await trial.finish()
    return trial


def story(events: list[AnyEvent]) -> list[tuple[object, ...]]:
    """Events as short tuples: what happened, leaving out times and ids."""
    told: list[tuple[object, ...]] = []
    for event in events:
        if isinstance(event, Started):
            told.append(("started", event.language, event.version))
        elif isinstance(event, StageBegan):
            told.append(("stage", event.stage))
        elif isinstance(event, Stdout | Stderr):
            told.append((event.__class__.__name__.lower(), event.stage, event.data))
        elif isinstance(event, Exited):
            told.append(("exit", event.stage, event.verdict))
        else:
            told.append((event.__class__.__name__,))
    return told


def output(events: list[AnyEvent]) -> str:
    return "".join(e.data for e in events if isinstance(e, Stdout | Stderr))


def exited(code: int | None = 0, signal_name: str | None = None, **usage: Any) -> ProcessExit:
    return ProcessExit(code=code, signal=signal_name, **usage)


# --- event order ---------------------------------------------------------------------------------------
async def test_an_interpreted_run_reports_started_its_stage_output_and_exit_in_order() -> None:
    done = await run([Write(b"out\n"), Write(b"err\n", Stream.STDERR), exited(0)])
    assert story(done.events) == [
        ("started", "python", "3.fake"),
        ("stage", Stage.RUN),
        ("stdout", Stage.RUN, "out\n"),
        ("stderr", Stage.RUN, "err\n"),
        ("exit", Stage.RUN, Verdict.OK),
    ]
    assert done.session.results == done.exits


async def test_a_compiled_run_compiles_then_runs_each_stage_with_its_own_output() -> None:
    done = await run([Write(b"warning\n", Stream.STDERR)], [Write(b"ran\n")], language="c")
    assert story(done.events) == [
        ("started", "c", "unknown"),
        ("stage", Stage.COMPILE),
        ("stderr", Stage.COMPILE, "warning\n"),
        ("exit", Stage.COMPILE, Verdict.OK),
        ("stage", Stage.RUN),
        ("stdout", Stage.RUN, "ran\n"),
        ("exit", Stage.RUN, Verdict.OK),
    ]
    compile_spec, run_spec = done.sandbox.specs
    assert "gcc" in compile_spec.argv[2] and run_spec.argv[2] == "exec ./main"


async def test_a_compiled_language_program_written_as_a_script_runs_with_no_compile_stage() -> None:
    done = await run([Write(b"hi")], language="sml")
    assert story(done.events)[1:] == [
        ("stage", Stage.RUN),
        ("stdout", Stage.RUN, "hi"),
        ("exit", Stage.RUN, Verdict.OK),
    ]
    (spec,) = done.sandbox.specs
    assert "--padbox-script main.sml" in spec.argv[2]


async def test_started_carries_the_sandboxs_run_id() -> None:
    done = await run([])
    started = done.events[0]
    assert isinstance(started, Started) and started.id == done.sandbox.run_id == done.session.id


async def test_each_process_gets_the_languages_command_environment_terminal_and_cpu_limit() -> None:
    done = await run([], tty=True, cols=100, rows=30, args=("a b",), limits={"cpu_time_s": 2})
    (spec,) = done.sandbox.specs
    assert spec.argv == ("/bin/sh", "-c", 'exec python3 -u main.py "$@"', "padbox", "a b")
    assert spec.env["TERM"] == "xterm-256color" and spec.env["PYTHONUNBUFFERED"] == "1"
    assert (spec.tty, spec.cols, spec.rows, spec.cpu_time_s) == (True, 100, 30, 2)
    assert "TERM" not in (await run([])).sandbox.specs[0].env


async def test_stderr_is_folded_into_stdout_in_a_terminal() -> None:
    done = await run([Write(b"out "), Write(b"err", Stream.STDERR)], tty=True)
    assert story(done.events)[2:4] == [("stdout", Stage.RUN, "out "), ("stdout", Stage.RUN, "err")]


async def test_a_character_split_across_chunks_is_decoded_whole() -> None:
    snowman = "☃".encode()
    done = await run([Write(b"a" + snowman[:1]), Write(snowman[1:2]), Write(snowman[2:] + b"b")])
    assert output(done.events) == "a☃b"
    assert all("\ufffd" not in e.data for e in done.events if isinstance(e, Stdout))


async def test_each_stream_decodes_on_its_own_and_a_dangling_byte_is_replaced_at_exit() -> None:
    euro = "€".encode()
    done = await run([Write(euro[:2]), Write(b"e", Stream.STDERR), Write(euro[2:]), Write(b"\xe2")])
    assert story(done.events)[2:5] == [
        ("stderr", Stage.RUN, "e"),
        ("stdout", Stage.RUN, "€"),
        ("stdout", Stage.RUN, "\ufffd"),
    ]


# --- the output cap ------------------------------------------------------------------------------------
async def test_output_past_the_cap_is_cut_and_the_verdict_is_output_limit() -> None:
    done = await run([Write(b"x" * 1000), Write(b"y" * 100), Write(b"never"), Hang()], limits={"output_kb": 1})
    assert output(done.events) == "x" * 1000 + "y" * 24
    assert done.sandbox.stops == 1
    (ending,) = done.exits
    assert (ending.verdict, ending.signal) == (Verdict.OUTPUT_LIMIT, "SIGKILL")


async def test_the_output_cap_counts_compile_and_run_output_together() -> None:
    done = await run(
        [Write(b"c" * 600, Stream.STDERR)], [Write(b"r" * 600), Hang()], language="c", limits={"output_kb": 1}
    )
    assert output(done.events) == "c" * 600 + "r" * 424
    assert [(e.stage, e.verdict) for e in done.exits] == [
        (Stage.COMPILE, Verdict.OK),
        (Stage.RUN, Verdict.OUTPUT_LIMIT),
    ]


async def test_a_character_cut_in_half_by_the_cap_is_dropped_not_replaced() -> None:
    done = await run([Write(b"a" + "é".encode() * 600), Hang()], limits={"output_kb": 1})
    assert output(done.events) == "a" + "é" * 511  # 1023 bytes: the cap's last byte was half an "é"
    assert done.exits[0].verdict is Verdict.OUTPUT_LIMIT


async def test_output_that_fills_the_cap_exactly_is_not_cut() -> None:
    done = await run([Write(b"x" * 1024)], limits={"output_kb": 1})
    assert len(output(done.events)) == 1024
    assert done.exits[0].verdict is Verdict.OK and done.sandbox.stops == 0


async def test_a_cap_reached_while_compiling_ends_the_run_before_it_starts() -> None:
    done = await run([Write(b"e" * 2000, Stream.STDERR), Hang()], [], language="c", limits={"output_kb": 1})
    assert [(e.stage, e.verdict) for e in done.exits] == [(Stage.COMPILE, Verdict.OUTPUT_LIMIT)]
    assert len(done.sandbox.specs) == 1 and len(output(done.events)) == 1024


# --- verdicts and stop reasons -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ending", "verdict"),
    [
        (exited(0), Verdict.OK),
        (exited(1), Verdict.RUNTIME_ERROR),
        (exited(None, "SIGSEGV"), Verdict.RUNTIME_ERROR),
        (exited(None, "SIGXCPU", cpu_ms=900), Verdict.TIMEOUT),
        (exited(None, "SIGKILL", cpu_ms=1000), Verdict.TIMEOUT),
        (exited(None, "SIGKILL", cpu_ms=999), Verdict.RUNTIME_ERROR),
        (exited(None, "SIGKILL", oom=True), Verdict.MEMORY_LIMIT),
        (exited(None, "SIGKILL", oom=None, memory_bytes=63 * 1024 * 1024), Verdict.MEMORY_LIMIT),
        (exited(None, "SIGKILL", oom=False, memory_bytes=64 * 1024 * 1024), Verdict.RUNTIME_ERROR),
    ],
)
async def test_the_sandboxs_account_of_the_exit_decides_the_verdict(ending: ProcessExit, verdict: Verdict) -> None:
    done = await run([ending], limits={"cpu_time_s": 1, "memory_mb": 64})
    (result,) = done.exits
    assert result.verdict is verdict
    assert (result.code, result.signal, result.cpu_ms, result.memory_bytes) == (
        ending.code,
        ending.signal,
        ending.cpu_ms,
        ending.memory_bytes,
    )


async def test_the_sandboxs_usage_is_reported_with_its_own_wall_time_when_it_has_one() -> None:
    done = await run([exited(0, wall_ms=1234, cpu_ms=5, memory_bytes=1 << 20)])
    assert (done.exits[0].wall_ms, done.exits[0].cpu_ms, done.exits[0].memory_bytes) == (1234, 5, 1 << 20)
    measured = await run([Sleep(0.02)])
    assert 15 <= measured.exits[0].wall_ms < 1000


async def test_a_failed_compile_is_a_compile_error_and_the_run_stage_never_starts() -> None:
    done = await run([Write(b"main.c:1: error\n", Stream.STDERR), exited(1)], [Write(b"never")], language="c")
    assert story(done.events)[-2:] == [
        ("stderr", Stage.COMPILE, "main.c:1: error\n"),
        ("exit", Stage.COMPILE, Verdict.COMPILE_ERROR),
    ]
    assert len(done.sandbox.specs) == 1


async def test_a_run_past_its_wall_clock_limit_is_stopped_by_the_watchdog_with_timeout() -> None:
    done = await run([Write(b"working"), Hang()], limits={"run_timeout_s": 0.1})
    (ending,) = done.exits
    assert (ending.verdict, ending.signal) == (Verdict.TIMEOUT, "SIGKILL")
    assert done.sandbox.stops == 1 and 100 <= ending.wall_ms < 1000


async def test_a_compile_past_its_limit_is_a_timeout_and_the_run_stage_never_starts() -> None:
    done = await run([Hang()], [], language="c", limits={"compile_timeout_s": 0.1})
    assert [(e.stage, e.verdict) for e in done.exits] == [(Stage.COMPILE, Verdict.TIMEOUT)]
    assert len(done.sandbox.specs) == 1


async def test_a_program_ended_by_a_clients_signal_is_killed() -> None:
    trial = Trial([Write(b"ready"), Hang()])
    sandbox = await trial.start()
    await eventually(lambda: bool(trial.events[2:]), 1)
    await trial.session.send_signal(Signal.SIGINT)
    await trial.finish()
    assert sandbox.signals == [signal.SIGINT]
    assert (trial.exits[0].signal, trial.exits[0].verdict) == ("SIGINT", Verdict.KILLED)


async def test_a_signal_sent_before_the_program_started_is_delivered_when_it_starts() -> None:
    trial = Trial([Hang()])
    await trial.session.send_signal(Signal.SIGTERM)
    sandbox = await trial.start()
    await trial.finish()
    assert sandbox.signals == [signal.SIGTERM]
    assert trial.exits[0].verdict is Verdict.KILLED


async def test_a_signal_sent_during_compile_reaches_the_compiler_not_the_program() -> None:
    trial = Trial([Hang()], [], language="c")
    sandbox = await trial.start()
    await eventually(lambda: sandbox.running, 1)
    await trial.session.send_signal(Signal.SIGKILL)
    await trial.finish()
    assert [(e.stage, e.verdict) for e in trial.exits] == [(Stage.COMPILE, Verdict.KILLED)]
    assert len(sandbox.specs) == 1


async def test_a_sandbox_that_ignores_stop_is_removed_after_the_grace_and_the_stage_ends_with_sigkill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "STOP_GRACE_S", 0.05)
    done = await run([Hang()], ignores_stop=True, limits={"run_timeout_s": 0.1})
    assert done.sandbox.stops == 1 and done.backend.discarded == [done.sandbox]
    (ending,) = done.exits
    assert (ending.code, ending.signal, ending.verdict) == (None, "SIGKILL", Verdict.TIMEOUT)


async def test_a_sandbox_that_stops_when_asked_is_not_removed_by_the_backstop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_module, "STOP_GRACE_S", 0.01)
    done = await run([Hang()], limits={"run_timeout_s": 0.1})
    # A timer due after the backstop's (set when the stop was asked, with the same delay): the backstop ran first.
    await asyncio.sleep(session_module.STOP_GRACE_S)
    assert done.sandbox.stops == 1 and done.backend.discarded == []


async def test_a_sandbox_that_vanishes_mid_run_is_lost_not_the_programs_fault() -> None:
    trial = Trial([Write(b"partial"), Vanish()])
    await trial.start()
    with pytest.raises(SandboxLost):
        await trial.finish()
    assert story(trial.events)[-1] == ("stdout", Stage.RUN, "partial") and trial.exits == []


async def test_a_sandbox_that_vanishes_while_compiling_runs_nothing_more() -> None:
    trial = Trial([Vanish()], [Write(b"never")], language="c")
    await trial.start()
    with pytest.raises(SandboxLost):
        await trial.finish()
    assert trial.exits == [] and len(trial.sandbox.specs) == 1


async def test_a_sandbox_failing_mid_run_raises_sandbox_error_to_the_runner() -> None:
    trial = Trial([Write(b"x"), Fail("the agent crashed")])
    await trial.start()
    with pytest.raises(SandboxError, match="the agent crashed"):
        await trial.finish()
    assert trial.exits == [] and not trial.sandbox.running


# --- input ---------------------------------------------------------------------------------------------
async def test_input_queued_before_the_start_arrives_in_order_once_the_run_stage_begins() -> None:
    trial = Trial([Sleep(0.05)], [Echo()], language="c", stdin="from the request\n")
    sandbox = await trial.start()
    await eventually(lambda: sandbox.running, 1)
    await trial.session.send_stdin("typed during compile\n")
    await trial.session.send_eof()
    assert sandbox.stdin == [None]  # the compiler reads none of it: its stdin is closed at once
    await eventually(lambda: len(sandbox.specs) == 2, 1)
    await trial.finish()
    assert sandbox.stdin == [None, b"from the request\n", b"typed during compile\n", None]
    assert output(trial.events) == "from the request\ntyped during compile\n"
    assert trial.exits[-1].verdict is Verdict.OK


async def test_a_compiler_that_reads_stdin_finds_it_ended_and_the_input_waits_for_the_program() -> None:
    # A compiler that runs the program's top level (Poly/ML) would otherwise eat the input, or wait for it
    # until the compile time limit.
    trial = Trial([AwaitEof(), Write(b"compiled")], [Echo()], language="c", stdin="for the program\n")
    sandbox = await trial.start()
    await eventually(lambda: len(sandbox.specs) == 2, 1)
    await trial.session.send_eof()
    await trial.finish()
    said = [(e.stage, e.data) for e in trial.events if isinstance(e, Stdout)]
    assert said == [(Stage.COMPILE, "compiled"), (Stage.RUN, "for the program\n")]
    assert [e.verdict for e in trial.exits] == [Verdict.OK, Verdict.OK]


async def test_input_typed_while_the_program_runs_goes_straight_through() -> None:
    trial = Trial([Echo()], limits={"output_kb": 2048})
    sandbox = await trial.start()
    await eventually(lambda: sandbox.running, 1)
    await trial.session.send_stdin("x" * (MAX_PENDING_INPUT + 1))  # no pending bound once it runs
    await trial.session.send_stdin("ü")
    await trial.session.send_eof()
    await trial.finish()
    assert output(trial.events) == "x" * (MAX_PENDING_INPUT + 1) + "ü"


async def test_too_much_input_before_the_program_starts_is_limit_exceeded() -> None:
    trial = Trial([Echo()], stdin="x" * (MAX_PENDING_INPUT - 1))
    await trial.session.send_stdin("y")
    with pytest.raises(ProtocolError) as refused:
        await trial.session.send_stdin("z")
    assert refused.value.code is ErrorCode.LIMIT_EXCEEDED and "before the program started" in refused.value.message


async def test_eof_closes_the_programs_stdin() -> None:
    trial = Trial([AwaitEof(), Write(b"saw eof")])
    sandbox = await trial.start()
    await trial.session.send_stdin("ignored")
    await trial.session.send_eof()
    await trial.finish()
    assert sandbox.stdin == [b"ignored", None] and output(trial.events) == "saw eof"


# --- terminal size -------------------------------------------------------------------------------------
async def test_a_resize_reaches_a_running_program_in_a_terminal_and_sizes_the_next_one() -> None:
    trial = Trial([Sleep(0.05)], [AwaitEof()], language="c", tty=True, cols=80, rows=24)
    await trial.session.resize(90, 25)  # before the sandbox: remembered only
    sandbox = await trial.start()
    await eventually(lambda: sandbox.running, 1)
    await trial.session.resize(100, 30)  # the compiler's terminal
    await eventually(lambda: len(sandbox.specs) == 2, 1)
    await trial.session.send_eof()
    await trial.finish()
    await trial.session.resize(120, 40)  # after the end: nowhere to go
    assert sandbox.resizes == [(100, 30)]
    assert [(spec.cols, spec.rows) for spec in sandbox.specs] == [(90, 25), (100, 30)]


async def test_a_resize_is_not_forwarded_without_a_terminal() -> None:
    trial = Trial([AwaitEof()])
    sandbox = await trial.start()
    await eventually(lambda: sandbox.running, 1)
    await trial.session.resize(100, 30)
    await trial.session.send_eof()
    await trial.finish()
    assert sandbox.resizes == []


# --- where sandboxes come from -------------------------------------------------------------------------
FILES = (SourceFile("main.py", "print(1)"),)


def sizing(floor: int, ceiling: int | None = None, clock: Callable[[], float] = time.monotonic) -> PoolSizing:
    bounds = PoolBounds(
        floor=floor,
        ceiling=floor if ceiling is None else ceiling,
        window_s=30,
        memory_budget_mb=1 << 20,
        sandbox_memory_mb=POLICY.defaults.memory_mb,
        max_concurrency=2,
    )
    return PoolSizing(bounds, clock)


async def warm_pool(backend: FakeBackend, size: int = 1, capacity: Capacity | None = None) -> WarmPool:
    pool = WarmPool(backend, capacity or Capacity(4, 4), POLICY.defaults, sizing(size))
    pool.start()
    await eventually(lambda: pool.ready == size, 1)
    return pool


async def test_a_pooled_sandbox_is_used_when_the_runs_limits_fit() -> None:
    backend = FakeBackend()
    pool = await warm_pool(backend)
    (pooled,) = backend.sandboxes
    sandbox = await SandboxSupply(backend, pool).acquire(POLICY.defaults, "the-run", FILES)
    assert sandbox is pooled and pooled.origin is Origin.POOL and pooled.files == list(FILES)
    assert (pool.handed_out, pool.hits, pool.misses) == (1, 1, 0)
    await pool.drain()
    assert backend.leaked() == [pooled]  # handed out: the run discards it, not the pool


async def test_a_pooled_sandbox_that_fails_write_files_is_discarded_for_a_cold_one_with_the_runs_id() -> None:
    backend = FakeBackend()
    pool = await warm_pool(backend)
    (pooled,) = backend.sandboxes
    pooled.files_error = "the engine restarted"
    sandbox = await SandboxSupply(backend, pool).acquire(POLICY.defaults, "the-run", FILES)
    assert backend.discarded == [pooled]
    assert isinstance(sandbox, FakeSandbox) and sandbox is not pooled
    assert (sandbox.run_id, sandbox.origin, sandbox.files) == ("the-run", Origin.COLD, list(FILES))
    await pool.drain()


async def test_a_run_with_its_own_memory_and_pids_gets_a_pooled_sandbox_given_its_limits() -> None:
    backend = FakeBackend()
    pool = await warm_pool(backend)
    (pooled,) = backend.sandboxes
    bigger = POLICY.resolve({"memory_mb": POLICY.defaults.memory_mb * 4, "pids": POLICY.defaults.pids * 2})
    sandbox = await SandboxSupply(backend, pool).acquire(bigger, "the-run", FILES)
    assert sandbox is pooled and pooled.limits == bigger and pooled.files == list(FILES)
    assert pool.hits == 1
    await pool.drain()


async def test_a_pooled_sandbox_whose_limits_cannot_be_changed_is_discarded_for_a_cold_one_with_them() -> None:
    backend = FakeBackend()
    pool = await warm_pool(backend)
    (pooled,) = backend.sandboxes
    backend.adapt_error = "the engine refused the update"
    bigger = POLICY.resolve({"memory_mb": POLICY.defaults.memory_mb * 2})
    sandbox = await SandboxSupply(backend, pool).acquire(bigger, "the-run", FILES)
    assert backend.discarded == [pooled]  # never handed to the run with the pool's (weaker) limits
    assert isinstance(sandbox, FakeSandbox) and (sandbox.origin, sandbox.limits) == (Origin.COLD, bigger)
    await pool.drain()


async def test_a_run_whose_limits_no_pooled_sandbox_can_take_gets_a_cold_sandbox() -> None:
    backend = FakeBackend()
    pool = await warm_pool(backend)
    smaller = POLICY.resolve({"memory_mb": 64})  # a smaller work directory, fixed when a sandbox is made
    sandbox = await SandboxSupply(backend, pool).acquire(smaller, "the-run", FILES)
    assert isinstance(sandbox, FakeSandbox) and (sandbox.origin, sandbox.limits) == (Origin.COLD, smaller)
    assert pool.ready == 1 and pool.misses == 1
    await pool.drain()
    assert backend.leaked() == [sandbox]


async def test_a_run_that_finds_the_pool_empty_waits_for_the_next_pooled_sandbox_and_each_goes_once() -> None:
    backend = FakeBackend()
    pool = await warm_pool(backend, size=1)
    defaults = POLICY.defaults
    assert pool.fits(POLICY.resolve({"run_timeout_s": 5, "output_kb": 2, "cpu_time_s": 1, "pids": 200}))
    first = await pool.take(defaults)
    assert first is backend.sandboxes[0]
    second = await pool.take(defaults)  # none ready: the pool makes one, and this run gets it
    assert second is backend.sandboxes[1] and second is not first and second.origin is Origin.POOL
    assert (pool.hits, pool.misses) == (1, 1)
    await pool.drain()


async def test_a_run_cancelled_while_it_waits_for_a_pooled_sandbox_leaves_it_to_the_pool() -> None:
    backend = FakeBackend()
    backend.create_delay_s = 0.05
    pool = await warm_pool(backend, size=1)
    await pool.take(POLICY.defaults)
    waiting = asyncio.create_task(pool.take(POLICY.defaults))
    await eventually(lambda: pool.misses == 1, 1)  # it waits for the sandbox under way
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await eventually(lambda: pool.ready == 1, 1)  # made all the same, and kept for the next run
    await pool.drain()
    assert backend.leaked() == [backend.sandboxes[0]]


async def test_a_failed_start_fails_the_run_waiting_for_it() -> None:
    backend = FakeBackend()
    pool = await warm_pool(backend, size=1)
    await pool.take(POLICY.defaults)
    backend.create_error = "no engine"
    with pytest.raises(SandboxError, match="no engine"):
        await pool.take(POLICY.defaults)
    await pool.drain()


async def test_the_pool_never_fills_past_the_slots_running_sessions_leave() -> None:
    backend = FakeBackend()
    capacity = Capacity(3, 4)
    capacity.running = 2
    pool = WarmPool(backend, capacity, POLICY.defaults, sizing(floor=2, ceiling=8))
    pool.start()
    await eventually(lambda: pool.ready == 1, 1)
    await barrier()  # the filler's pass woken by that sandbox's arrival has run
    assert pool.size == 1 and pool.target == 1
    capacity.running = 3  # a session took the last slot: the pool gives its sandbox back
    pool.poke()
    await eventually(lambda: pool.size == 0, 1)
    assert backend.leaked() == []
    await pool.drain()


async def test_a_burst_grows_the_pool_and_silence_shrinks_it_back_to_its_floor() -> None:
    now = [0.0]
    backend = FakeBackend()
    backend.create_delay_s = 0.1  # rate x start time: 24 runs a second x 0.1 s x headroom 2 is past the ceiling
    pool = WarmPool(backend, Capacity(32, 4), POLICY.defaults, sizing(floor=1, ceiling=4, clock=lambda: now[0]))
    pool.start()
    await eventually(lambda: pool.ready == 1, 1)
    taken = await asyncio.gather(*(pool.take(POLICY.defaults) for _ in range(24)))  # within one second
    assert len({id(t) for t in taken}) == 24
    for sandbox in taken:
        assert sandbox is not None
        backend.discard(sandbox)
    await eventually(lambda: pool.ready == 4, 5)
    assert pool.target == 4 and pool.hits == 1 and pool.misses == 23
    now[0] += 31  # a whole window without a run
    pool.poke()
    await eventually(lambda: pool.ready == 1, 1)
    await pool.drain()
    assert backend.leaked() == []


@pytest.mark.parametrize("pool_size", [1, 0], ids=["pooled", "cold"])
async def test_a_sandbox_whose_run_is_cancelled_while_its_files_are_written_is_discarded(pool_size: int) -> None:
    backend = FakeBackend()
    backend.files_delay_s = 1
    pool = await warm_pool(backend, pool_size) if pool_size else None
    acquiring = asyncio.create_task(SandboxSupply(backend, pool).acquire(POLICY.defaults, "the-run", FILES))
    await eventually(lambda: any(sandbox.writing_files for sandbox in backend.sandboxes), 1)
    assert not acquiring.done()
    acquiring.cancel()  # the client left while the files were on their way
    with pytest.raises(asyncio.CancelledError):
        await acquiring
    if pool is not None:
        await pool.drain()  # the pool's own refill goes too
    assert backend.sandboxes[0].files == [] and backend.leaked() == []


async def test_a_cold_sandbox_that_fails_write_files_is_discarded_and_the_error_raised() -> None:
    backend = FakeBackend()
    backend.files_error = "disk full"
    with pytest.raises(SandboxError, match="disk full"):
        await SandboxSupply(backend, None).acquire(POLICY.defaults, "the-run", FILES)
    assert backend.leaked() == [] and len(backend.sandboxes) == 1


async def test_a_backend_that_cannot_create_raises_sandbox_error() -> None:
    backend = FakeBackend()
    backend.create_error = "no engine"
    with pytest.raises(SandboxError, match="no engine"):
        await SandboxSupply(backend, None).acquire(POLICY.defaults, "the-run", FILES)
    assert backend.sandboxes == []
