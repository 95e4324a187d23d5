"""Piston's API v2 against a real server: requests shaped like Piston's docs/api-v2.md examples get
Piston-shaped answers, from the same engine as /ws."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, created_since, languages
from tests.unit.test_piston import DOCUMENTED_REQUEST

pytestmark = pytest.mark.docker

STAGE_FIELDS = {"stdout", "stderr", "output", "code", "signal"}


async def piston(url: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.post(f"{url}/api/v2/execute", json=body)


async def runtimes(url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/api/v2/runtimes")
    assert response.status_code == 200
    return list(response.json())


async def test_runtimes_list_every_language_with_version_and_aliases(server: ServerProcess) -> None:
    listed = {r["language"]: r for r in await runtimes(server.url)}
    for lang in languages(server.url):
        assert listed[str(lang["id"])] == {
            "language": lang["id"],
            "version": lang["version"],
            "aliases": lang["aliases"],
        }


async def documented_example(url: str) -> dict[str, Any]:
    """The execute example of Piston's docs/api-v2.md, with the version this server has (as a Piston
    client would have read it from /api/v2/runtimes)."""
    version = next(r["version"] for r in await runtimes(url) if "js" in r["aliases"])
    return {**DOCUMENTED_REQUEST, "version": version}


async def test_the_documented_example_gets_the_documented_answer_shape(server: ServerProcess) -> None:
    request = await documented_example(server.url)
    response = await piston(server.url, request)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"language", "version", "run"}  # no compile stage for JavaScript
    assert (answer["language"], answer["version"]) == ("javascript", request["version"])
    run = answer["run"]
    assert STAGE_FIELDS <= set(run)
    assert "'1', '2', '3'" in run["stdout"].replace("\n", "").replace("  ", " ")
    assert "my_cool_code.js" in run["stdout"]
    assert (run["stderr"], run["output"], run["code"], run["signal"]) == ("", run["stdout"], 0, None)


async def test_a_version_the_server_lacks_is_an_unknown_runtime(server: ServerProcess) -> None:
    since = time.time()
    response = await piston(server.url, {**await documented_example(server.url), "version": "0.0.1"})
    assert response.status_code == 400
    assert response.json() == {"message": "js-0.0.1 runtime is unknown; GET /api/v2/runtimes lists them"}
    assert created_since(server.instance, since) == 0


@pytest.mark.parametrize("version", ["*", "3.x", ">=3.8"])
async def test_semver_selectors_pick_the_runtime(server: ServerProcess, version: str) -> None:
    answer = (
        await piston(server.url, {"language": "python", "version": version, "files": [{"content": "print('hi')"}]})
    ).json()
    assert answer["language"] == "python" and answer["run"]["stdout"] == "hi\n"


async def test_a_compiled_language_reports_both_stages(server: ServerProcess) -> None:
    source = '#include <stdio.h>\nint main(void) { puts("compiled"); return 0; }\n'
    answer = (
        await piston(server.url, {"language": "c", "version": "*", "files": [{"name": "main.c", "content": source}]})
    ).json()
    assert STAGE_FIELDS <= set(answer["compile"]) and answer["compile"]["code"] == 0
    assert (answer["run"]["stdout"], answer["run"]["code"]) == ("compiled\n", 0)


async def test_a_failed_compile_is_also_the_run_stage(server: ServerProcess) -> None:
    answer = (
        await piston(
            server.url, {"language": "c", "version": "*", "files": [{"content": "int main(void) { return missing; }"}]}
        )
    ).json()
    assert answer["compile"]["code"] == 1 and "missing" in answer["compile"]["stderr"]
    assert answer["compile"]["output"] == answer["compile"]["stderr"]
    assert answer["run"] == answer["compile"]


async def test_stdin_gets_pistons_final_newline(server: ServerProcess) -> None:
    source = 'while read -r line; do echo "[$line]"; done'
    answer = (
        await piston(server.url, {"language": "bash", "version": "*", "stdin": "a\nb", "files": [{"content": source}]})
    ).json()
    assert answer["run"]["stdout"] == "[a]\n[b]\n"


async def test_a_run_past_run_timeout_is_status_to(server: ServerProcess) -> None:
    answer = (
        await piston(
            server.url,
            {"language": "bash", "version": "*", "run_timeout": 500, "files": [{"content": "echo up; sleep 30"}]},
        )
    ).json()
    run = answer["run"]
    assert (run["stdout"], run["code"], run["status"]) == ("up\n", None, "TO")
    assert run["signal"] is not None and 400 <= run["wall_time"] < 5000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"language": "python", "version": "*"}, "files is required as an array"),
        ({"version": "*", "files": [{"content": "x"}]}, "language is required as a string"),
        (
            {"language": "python", "version": "*", "files": [{"name": "a.py"}]},
            "files[0].content is required as a string",
        ),
        (
            {"language": "python", "version": "*", "files": [{"content": "x"}], "run_timeout": "soon"},
            "If specified, run_timeout must be a number",
        ),
    ],
)
async def test_mistakes_get_a_400_with_a_message_and_no_container(
    server: ServerProcess, body: dict[str, Any], message: str
) -> None:
    since = time.time()
    response = await piston(server.url, body)
    assert response.status_code == 400 and response.json() == {"message": message}
    assert created_since(server.instance, since) == 0
