"""`python -m bench.soak` (`make soak`): 30 minutes of mixed load against one real padbox server, sampled
every 10 s, then bench/soak.md and bench/soak.png.

The load, all to 127.0.0.1 and bounded in count and time:
- steady runs at a fixed rate, rotating over languages, half over /ws and half over POST /api/v1/execute;
- interactive sessions typing with pauses into a terminal (tty) program and a pipe program that echo lines;
- shared runs: start one, join it as viewer and as driver with the `started` frame's key, type, leave;
- bursts of more runs at once than PADBOX_MAX_SESSIONS plus its queue, so `queued` and `busy` appear;
- pad edits: a new pad, an editor typing into it and a viewer who must see every keystroke, then a fresh peer
  who must find the whole text again once the room has closed (read back from the pads' database).

The server's RSS and descriptors come from /proc/<pid>, its asyncio tasks from /metrics
(`padbox_asyncio_tasks`), live containers from `docker ps`. A trial (`--minutes N` other than 30)
writes its report to a temporary directory, so the committed results are only ever a full run's.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from padbox.client import Client, connect, run_program
from padbox.core.protocol import Role, ServerType
from padbox_dev.pad_client import YClient, append

from .docker_engine import Engine
from .machine import describe, one_line, revision
from .padbox_process import PadboxProcess, ServerConfig, padbox_server
from .soak_plot import plot
from .soak_record import OK, PAD_OK, SKIPPED, Ending, Sample, Tally, judge, judge_http, markdown, targets

HERE = Path(__file__).resolve().parent
DEFAULT_MINUTES = 30.0
INSTANCE = "soak"
SERVER = ServerConfig(
    pool_size=2, max_sessions=8, queue_limit=8, max_output_kb=1024, instance=INSTANCE, per_client_sessions=64
)  # every client is 127.0.0.1: only the global cap should answer busy
CLIENT_TIMEOUT_S = 90.0  # a run that has not closed by then (queueing included) is a failure
DRAIN_S = 90.0  # after the deadline, how long work in flight may take to finish
SETTLE_S = 60.0  # after the load, how long the server may take to remove its last sandboxes
EXPECTED = "soak-ok"


@dataclass(frozen=True)
class Job:
    language: str
    transport: str  # "ws" or "http"
    source: str


STEADY = (
    Job("python", "ws", f"print('{EXPECTED}')"),
    Job("bash", "http", f"echo {EXPECTED}"),
    Job("javascript", "ws", f"console.log('{EXPECTED}')"),
    Job("c", "http", f'#include <stdio.h>\nint main(void) {{ puts("{EXPECTED}"); return 0; }}\n'),
    Job("bash", "ws", f"echo {EXPECTED}"),
    Job("python", "http", f"print('{EXPECTED}')"),
)
PIPE_ECHO = 'while IFS= read -r line; do [ "$line" = bye ] && exit 0; echo "echo: $line"; done\n'
TTY_ECHO = "while True:\n    line = input('> ')\n    if line == 'bye':\n        break\n    print('echo:', line)\n"
SHARED_ECHO = (
    "import sys\nwhile True:\n    line = sys.stdin.readline().strip()\n    if line in ('bye', ''):\n"
    "        break\n    print('echo:', line, flush=True)\n"
)
BURST_PROGRAM = f"import time\ntime.sleep(2)\nprint('{EXPECTED}')\n"
PAD_FILE = "notes.txt"  # a file of its own, so a new pad's starter code is not part of what is compared


@dataclass(frozen=True)
class SoakPlan:
    minutes: float = DEFAULT_MINUTES
    sample_s: float = 10.0
    steady_per_s: float = 2.0
    steady_in_flight: int = 24  # past this, a tick is skipped and counted: the soak stays bounded
    typists: int = 2  # interactive sessions at once, alternating tty and pipe
    lines_typed: int = 5
    pause_s: tuple[float, float] = (0.3, 1.5)
    share_every_s: float = 15.0
    burst_every_s: float = 180.0
    burst_size: int = 24  # > max_sessions + queue_limit (8 + 8), so some are refused with busy
    pad_editors: int = 2  # pads being edited at a time, each by one editor with one viewer watching
    pad_keystrokes: int = 40  # per pad, each its own Yjs update
    keystroke_pause_s: tuple[float, float] = (0.05, 0.4)

    @property
    def duration_s(self) -> float:
        return self.minutes * 60

    def describe(self) -> str:
        return "\n".join(
            [
                f"steady: {self.steady_per_s:g} runs/s of hello-world programs rotating over "
                f"{', '.join(f'{j.language} ({j.transport})' for j in STEADY)}; at most {self.steady_in_flight} "
                "in flight (past that a tick is skipped and counted)",
                f"interactive: {self.typists} sessions at a time, alternating a tty Python program and a pipe Bash "
                f"program that echo lines; {self.lines_typed} lines typed with pauses of {self.pause_s[0]:g}-"
                f"{self.pause_s[1]:g} s, then `bye`",
                f"shared: every {self.share_every_s:g} s a run is started, joined as viewer and as driver with the key "
                "from `started`; the driver types a line all three must see, the joiners leave, the starter ends it",
                f"bursts: every {self.burst_every_s / 60:g} min (the first at half that), {self.burst_size} two-second "
                f"runs at once against {SERVER.max_sessions} sessions and a queue of {SERVER.queue_limit}",
                f"pad edits: {self.pad_editors} pads at a time, each new: an editor types {self.pad_keystrokes} "
                f"keystrokes (one Yjs update each, {self.keystroke_pause_s[0]:g}-{self.keystroke_pause_s[1]:g} s "
                "apart) that a viewer must all see; once both leave, a fresh peer must read the whole text back",
            ]
        )


class Load:
    """The five kinds of client, each a loop that stops starting work at the deadline."""

    def __init__(self, plan: SoakPlan, server: PadboxProcess, http: httpx.AsyncClient, deadline: float) -> None:
        self.plan = plan
        self.server = server
        self.http = http
        self.deadline = deadline
        self.tally = Tally()
        self.in_flight: set[asyncio.Task[None]] = set()
        self.random = random.Random(16)

    def spawn(self, action: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self.guarded(action))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        return task

    async def guarded(self, action: Awaitable[None]) -> None:
        """Any exception a client action raises is a failure named by its type, never the soak's end."""
        try:
            await asyncio.wait_for(action, CLIENT_TIMEOUT_S)
        except TimeoutError:
            self.tally.add("client timeout")
        except Exception as exc:  # noqa: BLE001 - counted, and the soak goes on
            self.tally.add(f"exception {type(exc).__name__}")

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    async def every(self, period_s: float, first_s: float, start: Callable[[], object]) -> None:
        """Call `start` every `period_s` seconds on a fixed schedule (a slow action never delays the next)."""
        next_at = time.monotonic() + first_s
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if not self.running():
                return
            start()
            next_at += period_s

    # --- steady runs ---------------------------------------------------------------------------
    def steady(self) -> Awaitable[None]:
        steady: set[asyncio.Task[None]] = set()
        jobs = itertools.cycle(STEADY)

        def tick() -> None:
            if len(steady) >= self.plan.steady_in_flight:
                self.tally.add(SKIPPED)
                return
            job = next(jobs)
            task = self.spawn(self.ws_run(job) if job.transport == "ws" else self.http_run(job))
            steady.add(task)
            task.add_done_callback(steady.discard)

        return self.every(1 / self.plan.steady_per_s, 0.0, tick)

    async def ws_run(self, job: Job) -> None:
        t = await run_program(self.server.ws_url, timeout=CLIENT_TIMEOUT_S, language=job.language, source=job.source)
        kinds = judge(t, EXPECTED)
        self.tally.add(*kinds)
        first = t.first(ServerType.STDOUT)
        if OK in kinds and first is not None:
            self.tally.first_output(first.at)

    async def http_run(self, job: Job) -> None:
        response = await self.http.post(
            f"http://127.0.0.1:{self.server.port}/api/v1/execute", json={"language": job.language, "source": job.source}
        )
        self.tally.add(judge_http(response.status_code, response.json(), EXPECTED))

    # --- interactive sessions --------------------------------------------------------------------
    async def typist(self, index: int) -> None:
        tty = index % 2 == 0
        while self.running():
            await self.guarded(self.typed_session(tty))
            tty = not tty

    async def typed_session(self, tty: bool) -> None:
        enter = "\r" if tty else "\n"
        async with connect(self.server.ws_url) as ws:
            client = Client(ws)
            if tty:
                await client.run(language="python", source=TTY_ECHO, tty=True)
            else:
                await client.run(language="bash", source=PIPE_ECHO)
            if not await began(client):  # refused (busy while a burst fills the queue): nothing to type into
                self.tally.add(*judge(await client.collect(), EXPECTED))
                return
            for i in range(self.plan.lines_typed):
                await asyncio.sleep(self.random.uniform(*self.plan.pause_s))
                if client.transcript.closed:
                    break
                await client.stdin(f"line-{i}{enter}")
                try:
                    await client.until_output(f"echo: line-{i}", timeout=30)
                except Exception:  # noqa: BLE001 - judged below from what arrived
                    break
            if not client.transcript.closed:
                await client.stdin(f"bye{enter}")
            t = await client.collect(timeout=CLIENT_TIMEOUT_S)
        kinds = judge(t, f"echo: line-{self.plan.lines_typed - 1}")
        self.tally.add(*kinds)

    # --- shared runs -----------------------------------------------------------------------------
    async def shared(self) -> None:
        async with connect(self.server.ws_url) as a, connect(self.server.ws_url) as b, connect(self.server.ws_url) as c:
            starter, viewer, driver = Client(a), Client(b), Client(c)
            await starter.run(language="python", source=SHARED_ECHO)
            if not await began(starter):
                self.tally.add(*judge(await starter.collect(), EXPECTED))
                return
            started = starter.transcript.first(ServerType.STARTED)
            assert started is not None
            run_id, key = started.message["id"], started.message["driver_key"]
            for joiner, role in ((viewer, Role.VIEWER), (driver, Role.DRIVER)):
                await joiner.join(run_id, key, role)
                answer = await joiner.until(lambda f: f.type in (ServerType.SNAPSHOT, ServerType.ERROR))
                if answer.type == ServerType.ERROR:
                    self.tally.add(f"join error {answer.message.get('code')}")
                    await starter.stdin("bye\n")
                    await starter.collect()
                    return
            await asyncio.sleep(self.random.uniform(*self.plan.pause_s))
            await driver.stdin("from-driver\n")
            await asyncio.gather(*(who.until_output("echo: from-driver") for who in (starter, viewer, driver)))
            await viewer.ws.close()
            await driver.ws.close()
            await asyncio.sleep(self.random.uniform(*self.plan.pause_s))
            await starter.stdin("bye\n")
            t = await starter.collect(timeout=CLIENT_TIMEOUT_S)
        self.tally.add(*judge(t, "echo: from-driver"))

    # --- pad edits ------------------------------------------------------------------------------------
    async def pad_editor(self) -> None:
        while self.running():
            await self.guarded(self.pad_session())

    async def pad_session(self) -> None:
        response = await self.http.post(f"http://127.0.0.1:{self.server.port}/api/v1/pads", json={"title": "soak"})
        if response.status_code != 201:
            self.tally.add(f"pad create {response.status_code}")
            return
        pad = response.json()
        base = f"ws://127.0.0.1:{self.server.port}"
        typed = ""
        async with (
            await YClient.connect(base, pad["id"], pad["keys"]["edit"], "soak-editor") as editor,
            await YClient.connect(base, pad["id"], pad["keys"]["view"], "soak-viewer") as viewer,
        ):
            for i in range(self.plan.pad_keystrokes):
                await asyncio.sleep(self.random.uniform(*self.plan.keystroke_pause_s))
                typed += f"{i} "
                await editor.edit(append(PAD_FILE, f"{i} "))
            if not await holds(viewer, PAD_FILE, typed):
                self.tally.add("pad edits not seen by the viewer")
                return
        async with await YClient.connect(base, pad["id"], pad["keys"]["view"], "soak-reader") as reader:
            self.tally.add(PAD_OK if await holds(reader, PAD_FILE, typed) else "pad edits lost after the room closed")

    # --- bursts ----------------------------------------------------------------------------------
    async def burst(self) -> None:
        async def one() -> None:
            t = await run_program(self.server.ws_url, timeout=CLIENT_TIMEOUT_S, language="python", source=BURST_PROGRAM)
            self.tally.add(*judge(t, EXPECTED))

        await asyncio.gather(*(self.guarded(one()) for _ in range(self.plan.burst_size)))

    async def run(self) -> None:
        loops = [
            self.steady(),
            *(self.typist(i) for i in range(self.plan.typists)),
            *(self.pad_editor() for _ in range(self.plan.pad_editors)),
            self.every(self.plan.share_every_s, self.plan.share_every_s / 2, lambda: self.spawn(self.shared())),
            self.every(
                self.plan.burst_every_s,
                min(self.plan.burst_every_s, self.plan.duration_s) / 2,
                lambda: self.spawn(self.burst()),
            ),
        ]
        await asyncio.gather(*loops)

    async def drain(self) -> int:
        """Wait for work in flight; what is still running after DRAIN_S is cancelled and counted."""
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=DRAIN_S)
        unfinished = list(self.in_flight)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        return len(unfinished)


async def holds(peer: YClient, file: str, text: str) -> bool:
    """Whether the peer's copy of `file` comes to be exactly `text` (within 30 s, and before its socket closes)."""
    try:
        await peer.wait_for(lambda: peer.files().get(file) == text, timeout=30)
    except (TimeoutError, AssertionError):
        return False
    return True


async def began(client: Client) -> bool:
    """Wait for the run's `started` (True) or its refusal (False); `queued` frames may come first.

    Typing into a refused run's socket would fail on a socket the server has closed (1013 after
    `busy`), a refusal the soak would otherwise miscount as a client failure.
    """
    answer = await client.until(lambda f: f.type in (ServerType.STARTED, ServerType.ERROR), timeout=CLIENT_TIMEOUT_S)
    return answer.type == ServerType.STARTED


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def asyncio_tasks(http: httpx.AsyncClient, port: int) -> int:
    response = await http.get(f"http://127.0.0.1:{port}/metrics")
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "padbox_asyncio_tasks":
                return int(sample.value)
    raise RuntimeError("the server's /metrics has no padbox_asyncio_tasks")


async def containers(all_states: bool = False) -> int:
    argv = ["docker", "ps", "-q", "--filter", f"label=padbox.instance={INSTANCE}"] + (["-a"] if all_states else [])
    process = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE)
    out, _ = await process.communicate()
    return len(out.split())


async def sample(load: Load, http: httpx.AsyncClient, began: float) -> Sample:
    load.server.alive()
    counts, first = load.tally.take()
    return Sample(
        round(time.monotonic() - began, 1),
        round(load.server.memory().rss_bytes / 1_000_000, 1),
        fds(load.server.pid),
        await asyncio_tasks(http, load.server.port),
        await containers(),
        round(os.getloadavg()[0], 2),
        dict(counts),
        tuple(round(s * 1000, 1) for s in first),
    )


async def sampler(load: Load, http: httpx.AsyncClient, began: float, samples: list[Sample]) -> None:
    next_at = began
    while load.running():
        next_at += load.plan.sample_s
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        samples.append(await sample(load, http, began))
        s = samples[-1]
        print(
            f"soak: {s.t_s / 60:5.1f} min  rss {s.rss_mb} MB  fds {s.fds}  tasks {s.tasks}  "
            f"containers {s.containers}  p50/p99 {s.p50_ms}/{s.p99_ms} ms  {dict(sorted(s.counts.items()))}",
            file=sys.stderr,
            flush=True,
        )


def server_log_errors(log_path: Path) -> list[str]:
    text = log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if " ERROR " in line or line.startswith("Traceback")]


async def soak(plan: SoakPlan) -> tuple[list[Sample], Ending, dict[str, str]]:
    engine = Engine()
    try:
        machine = await describe(engine)
    finally:
        await engine.close()
    context = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": revision(HERE.parent),
        "machine": one_line(machine),
        "cpus": str(machine["cpus"]),
        "load": plan.describe(),
        "settings": ", ".join(f"{k}={v}" for k, v in SERVER.recorded().items()),
    }
    samples: list[Sample] = []
    async with padbox_server(SERVER) as server, httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S) as http:
        began = time.monotonic()
        load = Load(plan, server, http, began + plan.duration_s)
        await asyncio.gather(load.run(), sampler(load, http, began, samples))
        print(f"soak: load over; waiting for {len(load.in_flight)} client actions to finish", file=sys.stderr)
        unfinished = await load.drain()
        counts, first = load.tally.take()  # what finished while draining belongs to the last interval
        if samples:
            last = samples[-1]
            merged = {k: last.counts.get(k, 0) + counts.get(k, 0) for k in {*last.counts, *counts}}
            samples[-1] = Sample(
                last.t_s,
                last.rss_mb,
                last.fds,
                last.tasks,
                last.containers,
                last.load1,
                merged,
                last.first_output_ms + tuple(round(s * 1000, 1) for s in first),
            )
        settle_until = time.monotonic() + SETTLE_S
        while (after_load := await containers(all_states=True)) > SERVER.pool_size and time.monotonic() < settle_until:
            await asyncio.sleep(1)
        log_path = server.log_path
        print(f"soak: {after_load} containers once settled; stopping the server", file=sys.stderr)
    after_stop = await containers(all_states=True)
    if after_stop:
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=padbox.instance={INSTANCE}"], capture_output=True, text=True
        ).stdout.split()
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)  # leave none behind, once counted
    ending = Ending(after_load, SERVER.pool_size, after_stop, unfinished, server_log_errors(log_path))
    return samples, ending, context


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="how long the load runs (trials)")
    parser.add_argument(
        "--out",
        type=Path,
        help="where soak.md and soak.png go (default: bench/ for a full run, a temporary directory for a trial)",
    )
    args = parser.parse_args()
    plan = SoakPlan(minutes=args.minutes)
    out = args.out or (HERE if args.minutes == DEFAULT_MINUTES else Path(tempfile.mkdtemp(prefix="padbox-soak-")))
    samples, ending, context = asyncio.run(soak(plan))
    (out / "soak.md").write_text(markdown(samples, plan.duration_s, ending, context))
    plot(samples, plan.duration_s, out / "soak.png")
    found = targets(samples, plan.duration_s, ending)
    for target in found:
        print(f"soak: {'met' if target.met else 'MISSED'}: {target.name}: {target.detail}", file=sys.stderr)
    print(f"soak: wrote {out / 'soak.md'} and {out / 'soak.png'}", file=sys.stderr)
    sys.exit(0 if all(t.met for t in found) else 1)


if __name__ == "__main__":
    main()
