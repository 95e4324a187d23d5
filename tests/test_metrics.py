"""Operators' view of a real server: Prometheus metrics, the per-session log line, and readiness."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from padbox.client import run_program
from tests.conftest import ServerProcess, docker_containers, expected_isolation, instance_name, start_server
from tests.eventually import eventually

pytestmark = pytest.mark.docker

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def execute(url: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.post(f"{url}/api/v1/execute", json=body)


PYTHON = (("language", "python"),)


async def test_counters_and_histograms_move_after_a_run(server: ServerProcess) -> None:
    before = await scrape(server.url)
    answer = (await execute(server.url, {"language": "python", "source": "print('hi')"})).json()
    assert answer["verdict"] == "ok"
    after = await scrape(server.url)

    def moved(name: str, labels: tuple[tuple[str, str], ...]) -> float:
        return after.get((name, labels), 0) - before.get((name, labels), 0)

    assert moved("padbox_sessions_started_total", PYTHON) == 1
    assert moved("padbox_sessions_finished_total", (("language", "python"), ("verdict", "ok"))) == 1
    assert moved("padbox_stage_duration_seconds_count", (("language", "python"), ("stage", "run"))) == 1
    assert moved("padbox_time_to_first_output_seconds_count", PYTHON) == 1
    assert moved("padbox_stage_duration_seconds_sum", (("language", "python"), ("stage", "run"))) > 0


async def test_websocket_sessions_are_counted_too(server: ServerProcess) -> None:
    before = await scrape(server.url)
    transcript = await run_program(server.ws_url, language="bash", source="exit 3")
    assert transcript.verdict == "runtime_error"
    after = await scrape(server.url)
    key = ("padbox_sessions_finished_total", (("language", "bash"), ("verdict", "runtime_error")))
    assert after[key] - before.get(key, 0) == 1


async def pool_size(url: str) -> float:
    return (await scrape(url))[("padbox_pool_size", ())]


async def _equals(value: Awaitable[float], wanted: float) -> bool:
    return await value == wanted


async def test_load_gauges_describe_running_sessions_the_queue_and_the_pool(server: ServerProcess) -> None:
    found = await scrape(server.url)
    assert found[("padbox_sessions_limit", ())] == 16
    assert found[("padbox_sessions_running", ())] == 0
    assert found[("padbox_queue_length", ())] == 0
    assert found[("padbox_isolation", (("mode", expected_isolation()),))] == 1
    # earlier runs' hosts may still be coming back renewed (namespace mode) or being replaced (container mode)
    await eventually(lambda: _equals(pool_size(server.url), 2), 20, "the pool back at its 2")
    assert 0 <= (await scrape(server.url))[("padbox_pool_ready", ())] <= 2
    assert ("padbox_docker_errors_total", ()) in found
    assert found[("padbox_asyncio_tasks", ())] >= 1, "at least the task serving the scrape"


async def test_each_session_logs_one_json_line_without_source_or_output(server: ServerProcess) -> None:
    source = "import sys\nprint('visible' + '-output')\nprint('err', file=sys.stderr)\n# a-secret-in-the-source\n"
    answer = (await execute(server.url, {"language": "python", "source": source, "stdin": "a-secret-input"})).json()
    lines: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while not lines and time.monotonic() < deadline:
        lines = [
            json.loads(line)
            for line in server.log().splitlines()
            if line.startswith("{") and f'"id": "{answer["id"]}"' in line
        ]
    assert len(lines) == 1
    line = lines[0]
    assert (line["event"], line["language"], line["outcome"]) == ("session", "python", "ok")
    assert line["stdout_bytes"] == len("visible-output\n") and line["stderr_bytes"] == len("err\n")
    assert line["stdin_bytes"] == len("a-secret-input") and line["source_bytes"] == len(source)
    assert [s["stage"] for s in line["stages"]] == ["run"] and line["duration_ms"] >= line["stages"][0]["wall_ms"]
    log = server.log()
    assert "a-secret-in-the-source" not in log and "a-secret-input" not in log and "visible-output" not in log


async def test_ready_when_docker_answers_and_the_image_is_present(server: ServerProcess) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{server.url}/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "docker": True,
        "image": True,
        "draining": False,
        "isolation": expected_isolation(),
        "problems": [],
    }


@pytest.fixture(scope="module")
def imageless_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("imageless"),
        instance_name("pytest-imageless"),
        PADBOX_IMAGE="padbox-runner-missing:never",
        PADBOX_POOL_SIZE="1",
    )
    yield srv
    srv.stop()


async def test_without_its_image_the_server_runs_but_is_not_ready(imageless_server: ServerProcess) -> None:
    url = imageless_server.url
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(f"{url}/healthz")).status_code == 200
        ready = await client.get(f"{url}/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert (body["ready"], body["docker"], body["image"]) == (False, True, False)
        assert "padbox-runner-missing:never" in body["problems"][0]
        refused = await client.post(f"{url}/api/v1/execute", json={"language": "python", "source": "print(1)"})
        assert refused.status_code == 500
        assert refused.json()["code"] == "internal" and "padbox-runner-missing:never" in refused.json()["message"]
        piston = await client.post(f"{url}/api/v2/execute", json={"language": "python", "files": [{"content": "1"}]})
        assert piston.status_code == 500 and "padbox-runner-missing:never" in piston.json()["message"]
    found = await scrape(url)
    assert found[("padbox_docker_errors_total", ())] == 2
    assert found[("padbox_sessions_finished_total", (("language", "python"), ("verdict", "internal")))] == 2
    assert found[("padbox_pool_ready", ())] == 0  # the pool does not try to warm a missing image
    assert docker_containers(imageless_server.instance) == []
