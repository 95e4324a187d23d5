"""The issue's targets checked against a run's results, and the Markdown table. Pure: results in, text out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from .cluster import markdown as cluster_markdown
from .lsp import markdown as lsp_markdown
from .lsp import targets as lsp_targets
from .machine import one_line

# The targets for a 2-core machine.
MAX_TIMES_BARE = 3.0
MIN_TIMES_FASTER_THAN_COLD = 4.0
MIN_SHARE_OF_CEILING = 0.9
MIN_OUTPUT_MB_PER_S = 50.0
IDLE_SESSIONS = 200
MAX_IDLE_SERVER_MB = 250.0
MAX_PAD_EDIT_P50_MS = 30.0  # the pads issue: edit propagation on loopback
# The per-run sandboxes issue, for the namespace mode under runc.
ISOLATION_ONE_CLIENT_P50 = 2.0  # × bare
ISOLATION_ONE_CLIENT_P90 = 4.0
ISOLATION_FOUR_CLIENTS_P50 = 3.0
ISOLATION_MIN_TIMES_CEILING = 5.0  # runs/s at concurrency 4 vs Docker's raw rate
ISOLATION_MAX_CPU_MS = 15.0  # CPU per run beyond the program itself
NAMESPACE_RUNC = "namespace (runc)"
MAX_TEST_RUN_TIMES_ONE_RUN = 2.0  # the questions issue: Run tests of 10 cases vs one single run, p50


@dataclass(frozen=True)
class Target:
    name: str
    wanted: str
    measured: str
    met: bool
    shortfall: str  # by how much it was missed ("" when met)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _at_most(name: str, value: float, limit: float, unit: str, wanted: str) -> Target:
    miss = "" if value <= limit else f"{value / limit - 1:.0%} over"
    return Target(name, wanted, f"{value:.2f}{unit}", value <= limit, miss)


def _at_least(name: str, value: float, floor: float, unit: str, wanted: str) -> Target:
    miss = "" if value >= floor else f"{1 - value / floor:.0%} short"
    return Target(name, wanted, f"{value:.2f}{unit}", value >= floor, miss)


def targets(results: dict[str, Any]) -> list[Target]:
    found: list[Target] = []
    latency = results.get("first_output")
    if latency:
        padbox = latency["padbox"]["p50_ms"]
        found.append(
            _at_most(
                "first output p50 vs bare process",
                padbox / latency["bare_process"]["p50_ms"],
                MAX_TIMES_BARE,
                "×",
                f"≤ {MAX_TIMES_BARE:g}× bare",
            )
        )
        found.append(
            _at_least(
                "first output p50 vs cold container",
                latency["cold_container"]["p50_ms"] / padbox,
                MIN_TIMES_FASTER_THAN_COLD,
                "× faster",
                f"≥ {MIN_TIMES_FASTER_THAN_COLD:g}× faster",
            )
        )
    for row in results.get("runs_per_second", []):
        found.append(
            _at_least(
                f"runs/s at concurrency {row['concurrency']} vs Docker ceiling",
                row["ratio"] * 100,
                MIN_SHARE_OF_CEILING * 100,
                "%",
                f"≥ {MIN_SHARE_OF_CEILING:.0%} of ceiling",
            )
        )
    output = results.get("output_throughput")
    if output:
        found.append(
            _at_least(
                "relayed output",
                output["deflate"]["median_mb_per_s"],
                MIN_OUTPUT_MB_PER_S,
                " MB/s",
                f"≥ {MIN_OUTPUT_MB_PER_S:g} MB/s",
            )
        )
    idle = results.get("idle_sessions")
    level = next((lv for lv in idle["levels"] if lv["sessions"] == IDLE_SESSIONS), None) if idle else None
    if level:
        found.append(
            _at_most(
                f"server RSS with {IDLE_SESSIONS} idle sessions",
                level["server_rss_mb"],
                MAX_IDLE_SERVER_MB,
                " MB",
                f"< {MAX_IDLE_SERVER_MB:g} MB",
            )
        )
    found += list(_isolation_targets(results.get("isolation", {}).get("modes", {}).get(NAMESPACE_RUNC)))
    for row in results.get("pads", {}).get("propagation", []):
        found.append(
            _at_most(
                f"pad edit propagation p50, {row['participants']} participants",
                row["p50_ms"],
                MAX_PAD_EDIT_P50_MS,
                " ms",
                f"< {MAX_PAD_EDIT_P50_MS:g} ms",
            )
        )
    if results.get("lsp"):
        for name, value, limit, unit in lsp_targets(results["lsp"]):
            found.append(_at_most(name, value, limit, f" {unit}", f"≤ {limit:g} {unit}"))
    questions = results.get("questions")
    if questions:
        found.append(
            _at_most(
                f"Run tests of {questions['cases']} cases vs one single run, p50",
                questions["ratio_to_one_run_p50"],
                MAX_TEST_RUN_TIMES_ONE_RUN,
                "×",
                f"≤ {MAX_TEST_RUN_TIMES_ONE_RUN:g}× one run",
            )
        )
    return found


def _questions_markdown(questions: dict[str, Any]) -> list[str]:
    cases = questions["cases"]
    lines = [f"### Questions: Run tests of {cases} Python cases against {cases} single runs in turn", ""]
    rows = [
        ("Run tests, to the last result", questions["test_run_to_last_result"]),
        ("Run tests, to test_run_finished", questions["test_run_to_finished"]),
        ("one single run (run to exit)", questions["single_run"]),
        (f"{cases} single runs one after another", questions["ten_single_runs_in_turn"]),
    ]
    lines += _table(
        ["", "samples", "p50 ms", "p95 ms", "min ms", "max ms"],
        [[name, f["runs"], f["p50_ms"], f["p95_ms"], f["min_ms"], f["max_ms"]] for name, f in rows],
    )
    lines += [
        "",
        f"Cases at once: {questions['parallel']} (PADBOX_TESTS_PARALLEL). Run tests takes "
        f"**{questions['ratio_to_one_run_p50']}×** one single run's p50. Each case's program used "
        f"{questions['case_cpu_ms_p50']} ms of CPU (p50): {cases} of them on {questions['cpus']} CPUs need at least "
        f"{cases * questions['case_cpu_ms_p50'] / questions['cpus']:.0f} ms whatever the server does.",
        "",
    ]
    return lines


def _isolation_targets(mode: dict[str, Any] | None) -> Iterator[Target]:
    if not mode:
        return
    ratios = mode["ratios"]
    yield _at_most("one client back to back, first output p50", ratios["one_client_p50"], ISOLATION_ONE_CLIENT_P50,
                   "× bare", f"≤ {ISOLATION_ONE_CLIENT_P50:g}× bare")  # fmt: skip
    yield _at_most("one client back to back, first output p90", ratios["one_client_p90"], ISOLATION_ONE_CLIENT_P90,
                   "× bare", f"≤ {ISOLATION_ONE_CLIENT_P90:g}× bare")  # fmt: skip
    yield _at_most("four clients back to back, p50", ratios["four_clients_p50"], ISOLATION_FOUR_CLIENTS_P50,
                   "× bare", f"≤ {ISOLATION_FOUR_CLIENTS_P50:g}× bare")  # fmt: skip
    if ratios["runs_per_s_vs_ceiling"] is not None:
        yield _at_least("runs/s at concurrency 4 vs Docker's raw rate", ratios["runs_per_s_vs_ceiling"],
                        ISOLATION_MIN_TIMES_CEILING, "×", f"≥ {ISOLATION_MIN_TIMES_CEILING:g}× ceiling")  # fmt: skip
    yield _at_most("CPU per run beyond the program", mode["cpu_ms_beyond_program"], ISOLATION_MAX_CPU_MS, " ms",
                   f"≤ {ISOLATION_MAX_CPU_MS:g} ms")  # fmt: skip


def _isolation_markdown(isolation: dict[str, Any]) -> list[str]:
    bare = isolation["bare_process"]
    ceiling = isolation["docker_ceiling"]
    lines = [
        "### Isolation modes (pool floor 4, side by side in one run)",
        "",
        f"References: bare `/usr/bin/python3` first output p50 {bare['p50_ms']} ms ({bare['cpu_ms_per_run']} ms of "
        f"machine CPU per run); Docker's raw create/start/wait/remove at concurrency 4: {ceiling['runs_per_s']} "
        "runs/s.",
        "",
    ]
    rows = []
    for name, mode in isolation["modes"].items():
        r = mode["ratios"]
        rows.append([
            name,
            f"{mode['one_client']['p50_ms']} / {mode['one_client']['p90_ms']} ({r['one_client_p50']}× / "
            f"{r['one_client_p90']}×)",
            f"{mode['four_clients']['p50_ms']} ({r['four_clients_p50']}×)",
            f"{mode['runs_per_s']} ({r['runs_per_s_vs_ceiling']}× ceiling)",
            _cpu(mode["cpu_ms_per_run"]),
            mode["cpu_ms_beyond_program"],
        ])  # fmt: skip
    lines += _table(
        ["mode", "one client p50 / p90 ms", "four clients p50 ms", "runs/s at 4", "CPU ms/run", "beyond program ms"],
        rows,
    )
    lines += ["", *(f"**{name}**: {error}" for name, error in isolation["errors"].items()), ""]
    return lines


def _pads_markdown(pads: dict[str, Any]) -> list[str]:
    lines = ["### Pads: edit propagation between raw Yjs peers (one edit in flight at a time)", ""]
    lines += _table(
        ["participants", "edits", "samples", "p50 ms", "p99 ms", "max ms", "until all had it, p50 ms"],
        [
            [r["participants"], r["edits"], r["samples"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["everyone_p50_ms"]]
            for r in pads["propagation"]
        ],
    )
    used = pads["memory"]
    lines += [
        "",
        f"Server memory: {used['baseline_rss_mb']} MB with no pad open, {used['one_participant_each_rss_mb']} MB "
        f"with {used['pads']} pads of one participant, {used['all_participants_rss_mb']} MB with "
        f"{used['participants_per_pad']} on each: **{used['per_pad_kb']} KB per open pad** and "
        f"**{used['per_participant_kb']} KB per participant** (a Yjs socket and an events socket, as the page opens).",
        "",
    ]
    return lines


def _table(header: list[str], rows: list[list[Any]]) -> Iterator[str]:
    yield "| " + " | ".join(header) + " |"
    yield "|" + "|".join(" --- " for _ in header) + "|"
    for row in rows:
        yield "| " + " | ".join(str(cell) for cell in row) + " |"


def _latency_rows(latency: dict[str, Any], runtime: str) -> list[list[Any]]:
    names = [
        ("padbox", f"padbox, warm pool{runtime}: `run` → first stdout"),
        ("padbox_with_connect", f"padbox, warm pool{runtime}: WebSocket connect + `run` → first stdout"),
        ("cold_container", f"cold container{runtime}: `docker run --rm` → first byte"),
        ("bare_process", "bare host process: `/usr/bin/python3 -c` → first byte"),
    ]
    return [[label, latency[key]["p50_ms"], latency[key]["p95_ms"]] for key, label in names if key in latency]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"## padbox benchmark, {results['started_at']}",
        "",
        f"Machine: {one_line(results['machine'])}.",
        "",
        f"padbox: {results['padbox_revision']}.",
        "",
        "Server: " + ", ".join(f"`{k}={v}`" for k, v in results["server_settings"].items() if v) + ".",
        "",
        "1-minute load average at each section's start → end (the machine is shared; 2 means both CPUs busy): "
        + ", ".join(f"{name} {start} → {end}" for name, (start, end) in results["load_average"].items())
        + ".",
        "",
    ]
    latency = results.get("first_output")
    if latency:
        runs = latency["padbox"]["runs"]
        lines += [f"### First output of a Python hello world ({runs} runs each, interleaved)", ""]
        lines += _table(["", "p50 ms", "p95 ms"], _latency_rows(latency, ""))
        lines.append("")
    rates = results.get("runs_per_second")
    if rates:
        lines += ["### Sustained runs per second (hello world; padbox: connect → `run` → exit → close)", ""]
        rows = [
            [
                r["concurrency"],
                r["padbox_runs_per_s"],
                r["docker_ceiling_runs_per_s"],
                f"{r['ratio']:.0%}",
                _p50_p95(r["padbox_first_output_under_load"]),
                _cpu(r["padbox_cpu_ms_per_run"]),
                _cpu(r["docker_cpu_ms_per_run"]),
                f"{r['machine_busy_padbox']:.0%} / {r['machine_busy_docker']:.0%}",
            ]
            for r in rates
        ]
        lines += _table(
            [
                "concurrency",
                "padbox runs/s",
                "Docker ceiling runs/s",
                "padbox / ceiling",
                "padbox first output p50 / p95 ms",
                "padbox CPU ms per run",
                "ceiling CPU ms per run",
                "machine busy padbox / ceiling",
            ],
            rows,
        )
        lines += [
            "",
            "CPU ms per run: the padbox server (`srv`), `dockerd` (`d`), `containerd` (`c`); the shims, "
            "runc and the containers' own processes are not in these figures.",
            "",
        ]
    output = results.get("output_throughput")
    if output:
        lines += [f"### {output['bytes'] / 1e6:g} MB of stdout relayed to one client", ""]
        rows = [
            [label, output[key]["median_mb_per_s"], ", ".join(str(v) for v in output[key]["runs_mb_per_s"])]
            for key, label in (
                ("deflate", "permessage-deflate (what browsers and the CLI negotiate)"),
                ("uncompressed", "no compression"),
            )
        ]
        lines += _table(["client", "median MB/s", "runs MB/s"], rows)
        lines += ["", f"Server peak RSS {output['server_peak_rss_mb']} MB.", ""]
    idle = results.get("idle_sessions")
    if idle:
        lines += ["### Idle interactive sessions (programs waiting on stdin)", ""]
        rows = [
            [lv["sessions"], lv["server_rss_mb"], lv["per_session_kb"], lv["opened_per_s"]] for lv in idle["levels"]
        ]
        lines += _table(
            ["sessions", "server RSS MB", "per session KB", "sessions opened per s"],
            [[0, idle["baseline_rss_mb"], "", ""], *rows],
        )
        lines += [
            "",
            f"Server peak RSS {idle['peak_rss_mb']} MB; each session holds a WebSocket, an attach "
            "connection to Docker and a container (the containers' memory is not the server's).",
            "",
        ]
    gvisor = results.get("gvisor")
    if gvisor:
        lines += ["### First output under gVisor (`PADBOX_RUNTIME=runsc`)", ""]
        if gvisor["available"]:
            lines += _table(["", "p50 ms", "p95 ms"], _latency_rows(gvisor, " (runsc)"))
            if "padbox_error" in gvisor:
                lines += ["", f"padbox could not run under runsc: {gvisor['padbox_error']}"]
        else:
            lines.append(gvisor["note"] + ".")
        lines.append("")
    burst = results.get("bursts")
    if burst:
        lines += ["### Bursts (default pool: floor 2, grows with demand)", ""]
        rows = [
            ["bare `/usr/bin/python3` (reference)", burst["reference"]],
            ["one client, back to back", burst["one_client"]],
            ["four clients, back to back", burst["four_clients"]],
        ]
        rows += [[f"acquisition (run → started), {lang}", f] for lang, f in burst["acquisition"].items()]
        lines += _table(
            ["", "runs", "p50 ms", "p90 ms", "max ms"],
            [[name, f["runs"], f["p50_ms"], f["p90_ms"], f["max_ms"]] for name, f in rows],
        )
        lines += [
            "",
            "Load average (1 min) around each part: "
            + ", ".join(f"{name} {a} → {b}" for name, (a, b) in burst["load_average"].items())
            + ".",
            "",
        ]
    if results.get("isolation"):
        lines += _isolation_markdown(results["isolation"])
    if results.get("pads"):
        lines += _pads_markdown(results["pads"])
    if results.get("questions"):
        lines += _questions_markdown(results["questions"])
    if results.get("lsp"):
        lines += lsp_markdown(results["lsp"])
    if results.get("cluster"):
        lines += cluster_markdown(results["cluster"])
    for name, error in results.get("errors", {}).items():
        lines += [f"**{name} failed**: {error}", ""]
    found = results.get("targets", [])
    if found:
        lines += ["### Targets", ""]
        lines += _table(
            ["target", "wanted", "measured", "met"],
            [
                [t["name"], t["wanted"], t["measured"], "yes" if t["met"] else f"**no** ({t['shortfall']})"]
                for t in found
            ],
        )
        lines.append("")
    return "\n".join(lines)


def _cpu(spent: dict[str, float]) -> str:
    short = {"server": "srv", "dockerd": "d", "containerd": "c"}
    return " + ".join(f"{spent[name]:g} {label}" for name, label in short.items() if name in spent)


def _p50_p95(latency: dict[str, Any] | None) -> str:
    return f"{latency['p50_ms']} / {latency['p95_ms']}" if latency else ""
