"""Section: language help in pads (the `lsp` section). Real language servers in padbox-lsp:latest, raw clients.

- **Time to ready**: from an editor's first completion request on a new pad to the `ready` state (the language
  server's container made and started, LSP's handshake, every file opened), per language.
- **Completion latency**: after warm-up (the first answer that holds the expected item), `lsp_requests`
  completions at the same place, one at a time; seconds from sending the request to its answer. Python
  (`os.pa`) and C++ (`std::vector<int> v; v.pu`).
- **Diagnostics after a keystroke pause**: an editor (a raw Yjs peer) makes an edit that adds or removes an
  error, then pauses; seconds from sending the edit until the language-help socket has the diagnostics of the
  new text (Python, pyflakes through pylsp).
- **Memory per language server**: `docker stats` of each pad's container once it has answered, per language.
- **Edit propagation, help on vs off**: section `pads`' measurement with 8 participants on a pad whose language
  server runs (a language-help socket open, completion answered), and on a pad with none, in alternating halves so
  the machine's load falls on both alike.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import httpx

from padbox_dev.pad_client import LspClient, YClient, replace

from . import pads
from .docker_engine import Engine
from .padbox_process import PadboxProcess, ServerConfig, padbox_server
from .plan import Plan
from .stats import percentile

CASES: dict[str, tuple[str, str, int, int, str]] = {  # language: (file, text, line, character, expected item)
    "python": ("main.py", "import os\nos.pa\n", 1, 5, "path"),
    "cpp": ("main.cpp", "#include <vector>\nint main() {\n  std::vector<int> v;\n  v.pu\n}\n", 3, 6, "push_back"),
    "typescript": ("main.ts", 'const greeting = "padbox";\ngreeting.toUp\n', 1, 13, "toUpperCase"),
    "bash": ("main.sh", "#!/bin/bash\nech\n", 1, 3, "echo"),
}
LATENCY_LANGUAGES = ("python", "cpp")
MAX_COMPLETION_P50_MS = 100.0  # the language-help issue's goals
MAX_COMPLETION_P95_MS = 300.0
MAX_DIAGNOSTICS_P50_MS = 500.0
DIAGNOSTIC_PAUSE_S = 0.3


def new_pad(server: PadboxProcess, language: str, file: str, text: str) -> dict[str, Any]:
    body = {"language": language, "files": [{"name": file, "content": text}]}
    answer = httpx.post(f"http://127.0.0.1:{server.port}/api/v1/pads", json=body, timeout=30)
    pad: dict[str, Any] = answer.raise_for_status().json()
    return pad


def labels(answer: dict[str, Any]) -> list[str]:
    found = answer.get("result") or []
    items = found["items"] if isinstance(found, dict) else found
    return [item["label"].strip(" •").split("(")[0] for item in items]


async def warmed(client: LspClient, language: str) -> float:
    """Seconds from the first request until the expected item is answered (the server started and loaded)."""
    file, text, line, character, expected = CASES[language]
    began = time.perf_counter()
    while expected not in labels(await client.ask("textDocument/completion", file, text, line, character)):
        await asyncio.sleep(0.05)
    return time.perf_counter() - began


def container_memory_mb(pad_id: str) -> float:
    """The pad's language-server container's memory, as `docker stats` reports it."""
    found = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=padbox.session=lsp-{pad_id}"], capture_output=True, text=True
    ).stdout.split()
    stats = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{json .}}", *found], capture_output=True, text=True
    )
    used = json.loads(stats.stdout.splitlines()[0])["MemUsage"].split("/")[0].strip()
    for unit, factor in (("GiB", 1024.0), ("MiB", 1.0), ("KiB", 1 / 1024), ("B", 1 / 1024 / 1024)):
        if used.endswith(unit):
            return round(float(used[: -len(unit)]) * factor * 1.048576, 1)
    raise ValueError(f"docker stats said {used!r}")


async def one_language(server: PadboxProcess, plan: Plan, language: str) -> dict[str, Any]:
    file, text, line, character, _ = CASES[language]
    pad = await asyncio.to_thread(new_pad, server, language, file, text)
    base = pads.ws_base(server)
    async with await LspClient.connect(base, pad["id"], pad["keys"]["edit"]) as client:
        began = time.perf_counter()
        first = asyncio.create_task(client.ask("textDocument/completion", file, text, line, character))
        await client.wait_for(lambda: "ready" in client.states(), timeout=120)
        ready_s = time.perf_counter() - began
        await first
        warm_s = ready_s + await warmed(client, language)
        row: dict[str, Any] = {
            "language": language,
            "to_ready_s": round(ready_s, 2),
            "to_first_answer_s": round(warm_s, 2),
        }
        if language in LATENCY_LANGUAGES:
            ms = []
            for _ in range(plan.lsp_requests):
                sent = time.perf_counter()
                await client.ask("textDocument/completion", file, text, line, character)
                ms.append((time.perf_counter() - sent) * 1000)
            row.update(
                requests=len(ms),
                completion_p50_ms=round(percentile(ms, 50), 1),
                completion_p95_ms=round(percentile(ms, 95), 1),
            )
        row["memory_mb"] = await asyncio.to_thread(container_memory_mb, pad["id"])
    return row


async def diagnostics_after_pause(server: PadboxProcess, plan: Plan) -> dict[str, Any]:
    """Alternately break and fix a Python file; each time, until the socket holds the new text's diagnostics."""
    good, bad = "value = 1\nprint(value)\n", "value = 1\nprint(valeu)\n"
    pad = await asyncio.to_thread(new_pad, server, "python", "main.py", good)
    base = pads.ws_base(server)
    ms: list[float] = []
    async with (
        await LspClient.connect(base, pad["id"], pad["keys"]["edit"]) as client,
        await YClient.connect(base, pad["id"], pad["keys"]["edit"], "typist") as typist,
    ):
        await typist.synced.wait()
        while "print" not in labels(await client.ask("textDocument/completion", "main.py", good, 1, 3)):
            await asyncio.sleep(0.05)
        for round_no in range(plan.lsp_diagnostic_rounds):
            broken = round_no % 2 == 0
            published = len(client.notifications)

            def arrived(broken: bool = broken, published: int = published) -> bool:
                notes = [n for n in client.notifications[published:] if n["method"].endswith("publishDiagnostics")]
                return bool(notes) and bool(notes[-1]["params"]["diagnostics"]) == broken

            sent = time.perf_counter()
            await typist.edit(replace("main.py", bad if broken else good))
            await client.wait_for(arrived, timeout=30)
            ms.append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(DIAGNOSTIC_PAUSE_S)
    return {"rounds": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1)}


async def propagation_on_and_off(server: PadboxProcess, plan: Plan) -> dict[str, Any]:
    """8 participants' edit propagation with the pad's language server running and without, in turns."""
    rounds = max(2, plan.lsp_edit_rounds // 2)
    rows: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    for _ in range(2):
        for mode in ("off", "on"):
            pad = await asyncio.to_thread(pads.create_pad, server)
            if mode == "off":
                rows[mode].append(await pads.propagation(server, 8, rounds, pad))
                continue
            async with await LspClient.connect(pads.ws_base(server), pad["id"], pad["keys"]["edit"]) as client:
                files = await current_files(server, pad)
                file, text = next(iter(files.items()))
                await client.ask("textDocument/hover", file, text, 0, 1)  # an editor's first request starts it
                await started(client)
                rows[mode].append(await pads.propagation(server, 8, rounds, pad))
    return {
        mode: {
            "edits": sum(r["edits"] for r in found),
            "p50_ms": round(sum(r["p50_ms"] for r in found) / len(found), 2),
            "p99_ms": round(max(r["p99_ms"] for r in found), 2),
        }
        for mode, found in rows.items()
    }


async def started(client: LspClient) -> None:
    await client.wait_for(lambda: "ready" in client.states(), timeout=120)


async def current_files(server: PadboxProcess, pad: dict[str, Any]) -> dict[str, str]:
    async with await YClient.connect(pads.ws_base(server), pad["id"], pad["keys"]["view"], "reader") as reader:
        await reader.synced.wait()
        return reader.files()


async def measure(plan: Plan, engine: Engine, config: ServerConfig) -> dict[str, Any]:
    async with padbox_server(config) as server:
        languages = [await one_language(server, plan, language) for language in CASES]
        diagnostics = await diagnostics_after_pause(server, plan)
        propagation = await propagation_on_and_off(server, plan)
    return {"languages": languages, "diagnostics": diagnostics, "propagation": propagation}


def targets(lsp: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """(name, measured, limit, unit) of the issue's goals."""
    found = []
    for row in lsp["languages"]:
        if "completion_p50_ms" in row:
            found.append((f"completion p50, {row['language']}", row["completion_p50_ms"], MAX_COMPLETION_P50_MS, "ms"))
            found.append((f"completion p95, {row['language']}", row["completion_p95_ms"], MAX_COMPLETION_P95_MS, "ms"))
    found.append(("diagnostics after a pause, p50", lsp["diagnostics"]["p50_ms"], MAX_DIAGNOSTICS_P50_MS, "ms"))
    return found


def markdown(lsp: dict[str, Any]) -> list[str]:
    lines = ["### Language help (real language servers in padbox-lsp:latest)", ""]
    lines += [
        "| language | first request to ready, s | to first useful answer, s | completion p50 ms | p95 ms | memory MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in lsp["languages"]:
        lines.append(
            f"| {r['language']} | {r['to_ready_s']} | {r['to_first_answer_s']} | {r.get('completion_p50_ms', '-')} "
            f"| {r.get('completion_p95_ms', '-')} | {r['memory_mb']} |"
        )
    d, p = lsp["diagnostics"], lsp["propagation"]
    lines += [
        "",
        f"Diagnostics after a keystroke pause (Python, {d['rounds']} edits): p50 {d['p50_ms']} ms, "
        f"p95 {d['p95_ms']} ms.",
        "",
        f"Edit propagation, 8 participants: help on p50 {p['on']['p50_ms']} ms (p99 {p['on']['p99_ms']} ms, "
        f"{p['on']['edits']} edits), help off p50 {p['off']['p50_ms']} ms (p99 {p['off']['p99_ms']} ms, "
        f"{p['off']['edits']} edits).",
        "",
    ]
    return lines
