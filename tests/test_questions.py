"""The question bank and Run tests, against a real server process, the real Docker engine and the real image.

One server for the module, with an operator token; every HTTP call goes through httpx, every socket is the pad's
own (padbox_dev.pad_client).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Map

from padbox_dev.pad_client import Events, YClient, replace
from tests.conftest import ServerProcess, start_server
from tests.pads_client import ws_base

pytestmark = pytest.mark.docker

OPERATOR = "operator-token"
AUTH = {"Authorization": f"Bearer {OPERATOR}"}
BANK = Path(__file__).resolve().parents[1] / "server" / "padbox" / "questions" / "bank"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("questions"),
        "questions-tests",
        PADBOX_ADMIN_TOKENS=OPERATOR,
        PADBOX_SESSIONS_PER_MINUTE="100000",
    )
    yield srv
    srv.stop()
    assert not srv.containers(), "containers outlived their sessions"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def question(slug: str, cases: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"slug": slug, "title": fields.pop("title", slug.title()), "cases": cases, **fields}


def case(name: str, stdin: str, expected: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "stdin": stdin, "expected": expected, **fields}


def new_pad(api: httpx.Client, slug: str, language: str) -> dict[str, Any]:
    answer = api.post("/api/v1/pads", json={"question": slug, "language": language})
    assert answer.status_code == 201, answer.text
    pad: dict[str, Any] = answer.json()
    return pad


async def write_code(server: ServerProcess, pad: dict[str, Any], code: str) -> None:
    """Replace the pad's entry file with `code`, as an editor typing it."""
    async with await YClient.connect(ws_base(server), pad["id"], pad["keys"]["edit"], "candidate") as peer:
        await peer.synced.wait()
        await peer.edit(replace(str(peer.meta()["entry"]), code))
        await peer.roundtrip()


async def run_tests(api: httpx.Client, server: ServerProcess, pad: dict[str, Any], key: str) -> dict[str, Any]:
    """Press Run tests as `key`'s holder and follow its results on an events socket to the end."""
    events = await Events.connect(ws_base(server), pad["id"], key)
    try:
        await events.next_of("pad")
        answer = api.post(f"/api/v1/pads/{pad['id']}/tests", params={"key": key}, json={"name": "tester"})
        assert answer.status_code == 202, answer.text
        started = await events.next_of("test_run")
        results = [(await events.next_of("test_case", timeout=120))["result"] for _ in started["cases"]]
        finished = await events.next_of("test_run_finished", timeout=60)
        return {"started": started, "results": sorted(results, key=lambda r: r["index"]), "finished": finished}
    finally:
        await events.close()


# --- the bank -----------------------------------------------------------------------------------------------
def test_the_starter_set_is_there_on_a_fresh_server(api: httpx.Client) -> None:
    listing = api.get("/api/v1/questions").json()["questions"]
    assert len(listing) >= 12
    for entry in listing:
        assert {"python", "javascript", "java", "cpp", "go"} <= set(entry["languages"])
        assert entry["cases"] >= 5 and entry["hidden_cases"] >= 2


def test_questions_are_created_searched_updated_and_deleted_by_an_operator(api: httpx.Client) -> None:
    body = question(
        "reverse-words",
        [case("one", "a b\n", "b a\n"), case("secret", "x y z\n", "z y x\n", visibility="hidden")],
        title="Reverse the Words",
        description="Reverse **the words**.\n\n<script>alert(1)</script>\n\n<b onclick=x>raw</b>",
        tags=["strings", "warm-up"],
        starters=[{"language": "py", "file": "main.py", "content": "print(input())\n"}],
    )
    assert api.post("/api/v1/questions", json=body).status_code == 403  # no operator token
    created = api.post("/api/v1/questions", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json()["starters"][0]["language"] == "python"  # stored by id
    assert api.post("/api/v1/questions", json=body, headers=AUTH).status_code == 409

    shown = api.get("/api/v1/questions/reverse-words").json()
    assert [c["name"] for c in shown["cases"]] == ["one"] and shown["hidden_cases"] == 1
    assert "<strong>the words</strong>" in shown["description_html"]
    assert "<script" not in shown["description_html"] and "onclick" not in shown["description_html"]
    assert "<b" not in shown["description_html"]
    full = api.get("/api/v1/questions/reverse-words", headers=AUTH).json()
    assert [c["name"] for c in full["cases"]] == ["one", "secret"]

    assert [q["slug"] for q in api.get("/api/v1/questions", params={"q": "REVERSE the"}).json()["questions"]] == [
        "reverse-words"
    ]
    assert "reverse-words" in [
        q["slug"] for q in api.get("/api/v1/questions", params={"tag": "warm-up"}).json()["questions"]
    ]
    assert api.get("/api/v1/questions", params={"tag": "nothing-has-this"}).json()["questions"] == []

    body["title"] = "Reverse Words"
    assert api.put("/api/v1/questions/reverse-words", json=body).status_code == 403
    assert api.put("/api/v1/questions/reverse-words", json=body, headers=AUTH).status_code == 200
    assert api.get("/api/v1/questions/reverse-words").json()["title"] == "Reverse Words"
    assert api.delete("/api/v1/questions/reverse-words").status_code == 403
    assert api.delete("/api/v1/questions/reverse-words", headers=AUTH).status_code == 204
    assert api.get("/api/v1/questions/reverse-words").status_code == 404


def test_a_bad_question_is_refused_with_the_field_named(api: httpx.Client) -> None:
    unknown = question(
        "bad-one", [case("a", "", "x")], starters=[{"language": "klingon", "file": "a.k", "content": ""}]
    )
    answer = api.post("/api/v1/questions", json=unknown, headers=AUTH)
    assert answer.status_code == 400 and "starters[0]" in answer.json()["message"]
    assert "klingon" in answer.json()["message"]
    no_expected = question("bad-two", [{"name": "a", "stdin": ""}])
    answer = api.post("/api/v1/questions", json=no_expected, headers=AUTH)
    assert answer.status_code == 400 and "expected" in answer.json()["message"]
    assert api.get("/api/v1/questions/bad-one").status_code == 404


# --- pads from questions ------------------------------------------------------------------------------------
async def test_a_pad_from_a_question_starts_from_its_starter_and_hides_hidden_cases_from_others(
    api: httpx.Client, server: ServerProcess
) -> None:
    pad = new_pad(api, "two-sum", "java")
    async with await YClient.connect(ws_base(server), pad["id"], pad["keys"]["view"]) as peer:
        await peer.synced.wait()
        assert peer.meta()["language"] == "java" and peer.meta()["title"] == "Two Sum"
        assert list(peer.files()) == ["Main.java"] and "TODO" in peer.files()["Main.java"]
    for role in ("edit", "view"):
        seen = api.get(f"/api/v1/pads/{pad['id']}/question", params={"key": pad["keys"][role]}).json()["question"]
        assert all(c["visibility"] == "visible" for c in seen["cases"]) and seen["hidden_cases"] == 2
        assert "solutions" not in str(seen)
    owner = api.get(f"/api/v1/pads/{pad['id']}/question", params={"key": pad["keys"]["owner"]}).json()["question"]
    assert sum(c["visibility"] == "hidden" for c in owner["cases"]) == 2
    wrong = api.get(f"/api/v1/pads/{pad['id']}/question", params={"key": "wrong"})
    assert wrong.status_code == 404


async def test_the_owner_attaches_a_question_to_a_pad_and_every_page_is_told(
    api: httpx.Client, server: ServerProcess
) -> None:
    pad = api.post("/api/v1/pads", json={"language": "python"}).json()
    events = await Events.connect(ws_base(server), pad["id"], pad["keys"]["edit"])
    try:
        await events.next_of("pad")
        url = f"/api/v1/pads/{pad['id']}/question"
        assert api.put(url, params={"key": pad["keys"]["edit"]}, json={"slug": "fizzbuzz"}).status_code == 403
        assert api.put(url, params={"key": pad["keys"]["owner"]}, json={"slug": "fizzbuzz"}).status_code == 200
        told = await events.next_of("pad_question")
        assert told["slug"] == "fizzbuzz"
    finally:
        await events.close()


# --- Run tests ----------------------------------------------------------------------------------------------
TWO_SUM = (BANK / "two-sum" / "solutions" / "python" / "main.py").read_text()


async def test_results_reach_the_owner_whole_and_the_candidate_without_hidden_details(
    api: httpx.Client, server: ServerProcess
) -> None:
    pad = new_pad(api, "two-sum", "python")
    await write_code(server, pad, TWO_SUM)
    owner = await Events.connect(ws_base(server), pad["id"], pad["keys"]["owner"])
    try:
        await owner.next_of("pad")
        candidate = await run_tests(api, server, pad, pad["keys"]["edit"])
        owner_results = [(await owner.next_of("test_case"))["result"] for _ in range(5)]
        owner_finished = await owner.next_of("test_run_finished")
    finally:
        await owner.close()
    assert candidate["finished"]["summary"] == "5/5 passed" == owner_finished["summary"]
    hidden = [r for r in candidate["results"] if r["hidden"]]
    assert len(hidden) == 2
    for result in hidden:
        assert set(result) <= {"index", "name", "hidden", "passed", "verdict", "wall_ms"}
        assert result["name"].startswith("hidden ") and result["verdict"] == "ok"
    shown = [r for r in candidate["results"] if not r["hidden"]]
    assert all(r["stdin"] and r["expected"] and "actual" in r for r in shown)
    secret = [r for r in owner_results if r["hidden"]]
    assert all(r["stdin"] and r["expected"] == r["actual"] for r in secret)

    history = api.get(f"/api/v1/pads/{pad['id']}/tests", params={"key": pad["keys"]["owner"]}).json()["test_runs"]
    assert len(history) == 1 and history[0]["summary"] == "5/5 passed" and len(history[0]["results"]) == 5
    assert all("expected" in r for r in history[0]["results"])
    seen = api.get(f"/api/v1/pads/{pad['id']}/tests", params={"key": pad["keys"]["view"]}).json()["test_runs"]
    assert all("expected" not in r for r in seen[0]["results"] if r["hidden"])


async def test_run_tests_starts_from_the_events_socket_for_an_editor_and_is_refused_to_a_viewer(
    api: httpx.Client, server: ServerProcess
) -> None:
    pad = new_pad(api, "two-sum", "python")
    await write_code(server, pad, TWO_SUM)
    editor = await Events.connect(ws_base(server), pad["id"], pad["keys"]["edit"], "Carl")
    viewer = await Events.connect(ws_base(server), pad["id"], pad["keys"]["view"], "Vera")
    try:
        await editor.next_of("pad")
        await viewer.next_of("pad")
        await viewer.send({"type": "run_tests"})
        refused = await viewer.next_of("error")
        assert refused["code"] == "forbidden" and "view link" in refused["message"]
        await editor.send({"type": "run_tests", "surprise": 1})
        assert (await editor.next_of("error"))["code"] == "bad_request"

        await editor.send({"type": "run_tests"})
        started = await editor.next_of("test_run")
        assert started["by"] == "Carl" and len(started["cases"]) == 5
        assert (await viewer.next_of("test_run"))["run_id"] == started["run_id"]
        await editor.send({"type": "run_tests"})  # the same rules as the button's: one test run at a time
        busy = await editor.next_of("error")
        assert busy["code"] == "busy" and "already running" in busy["message"]
        finished = await editor.next_of("test_run_finished", timeout=120)
        assert finished["run_id"] == started["run_id"] and finished["summary"] == "5/5 passed"
        assert (await viewer.next_of("test_run_finished", timeout=30))["summary"] == "5/5 passed"
        assert not [m for m in viewer.messages if m["type"] == "error"]  # a refusal is told to its socket alone
    finally:
        await editor.close()
        await viewer.close()
    history = api.get(f"/api/v1/pads/{pad['id']}/tests", params={"key": pad["keys"]["owner"]}).json()["test_runs"]
    assert [(h["run_id"], h["author"]["name"]) for h in history] == [(started["run_id"], "Carl")]


async def test_every_comparison_passes_and_fails_as_it_should(api: httpx.Client, server: ServerProcess) -> None:
    program = "import sys\nprint(sys.stdin.read(), end='')\n"  # echo: the stdin is the output
    cases = [
        case("exact-pass", "a b\n", "a b\n", compare="exact"),
        case("exact-fail", "a b \n", "a b\n", compare="exact"),
        case("trim-pass", "a b  \n\n\n", "a b\n", compare="trim"),
        case("trim-fail", " a b\n", "a b\n", compare="trim"),
        case("tokens-pass", "1   2\n3\n", "1 2 3", compare="tokens"),
        case("tokens-fail", "1 2\n", "2 1", compare="tokens"),
        case("float-pass", "3.1415927 100.00001\n", "3.14159265 100", compare="float", tolerance=1e-6),
        case("float-fail", "3.15\n", "3.14159265", compare="float", tolerance=1e-6),
    ]
    body = question("echo-modes", cases, starters=[{"language": "python", "file": "main.py", "content": program}])
    assert api.put("/api/v1/questions/echo-modes", json=body, headers=AUTH).status_code in (200, 201)
    pad = new_pad(api, "echo-modes", "python")
    run = await run_tests(api, server, pad, pad["keys"]["owner"])
    verdicts = {r["name"]: r["passed"] for r in run["results"]}
    assert verdicts == {c["name"]: c["name"].endswith("-pass") for c in cases}
    failed = next(r for r in run["results"] if r["name"] == "exact-fail")
    assert "-a b" in failed["diff"] and "+a b " in failed["diff"]
    assert run["finished"]["summary"] == "4/8 passed" and run["finished"]["compiles"] == 0


async def test_a_slow_case_times_out_and_a_crashing_case_is_a_runtime_error(
    api: httpx.Client, server: ServerProcess
) -> None:
    program = (
        "import sys, time\nn = sys.stdin.read().strip()\n"
        "if n == 'sleep': time.sleep(30)\nif n == 'crash': raise SystemExit(3)\nprint('ok')\n"
    )
    cases = [
        case("fine", "go\n", "ok\n"),
        case("slow", "sleep\n", "ok\n", time_limit_s=1),
        case("crash", "crash\n", "ok\n"),
    ]
    body = question("slow-and-crash", cases, starters=[{"language": "python", "file": "main.py", "content": program}])
    assert api.put("/api/v1/questions/slow-and-crash", json=body, headers=AUTH).status_code in (200, 201)
    pad = new_pad(api, "slow-and-crash", "python")
    run = await run_tests(api, server, pad, pad["keys"]["edit"])
    by_name = {r["name"]: r for r in run["results"]}
    assert by_name["fine"]["passed"] and by_name["fine"]["verdict"] == "ok"
    assert not by_name["slow"]["passed"] and by_name["slow"]["verdict"] == "timeout"
    assert by_name["slow"]["wall_ms"] < 5000
    assert not by_name["crash"]["passed"] and by_name["crash"]["verdict"] == "runtime_error"


async def test_a_compiled_language_compiles_once_and_a_compile_error_is_told_once(
    api: httpx.Client, server: ServerProcess
) -> None:
    pad = new_pad(api, "climbing-stairs", "cpp")
    solution = (
        "#include <iostream>\nint main(){long long n,a=1,b=1,t;std::cin>>n;"
        "for(long long i=0;i<n;i++){t=a+b;a=b;b=t;}std::cout<<a<<std::endl;}\n"
    )
    await write_code(server, pad, solution)
    run = await run_tests(api, server, pad, pad["keys"]["edit"])
    assert run["finished"]["summary"] == "5/5 passed" and run["finished"]["compiles"] == 1

    await write_code(server, pad, "int main() { return syntax error; }\n")
    broken = await run_tests(api, server, pad, pad["keys"]["edit"])
    assert broken["finished"]["compiles"] == 1
    assert broken["finished"]["compile"]["verdict"] == "compile_error"
    assert "error" in broken["finished"]["compile"]["output"]
    assert all(r["verdict"] == "compile_error" and not r["passed"] for r in broken["results"])
    assert broken["finished"]["summary"] == "0/5 passed (compile error)"


async def test_the_pads_own_cases_from_the_tests_panel_run_with_the_questions(
    api: httpx.Client, server: ServerProcess
) -> None:
    pad = new_pad(api, "fizzbuzz", "python")
    await write_code(server, pad, (BANK / "fizzbuzz" / "solutions" / "python" / "main.py").read_text())
    async with await YClient.connect(ws_base(server), pad["id"], pad["keys"]["edit"], "candidate") as peer:
        await peer.synced.wait()

        def add_case(doc: Any) -> None:
            doc.get("tests", type=Map)["c1"] = {"name": "two", "stdin": "2\n", "expected": "1\n2\n"}

        await peer.edit(add_case)
        await peer.roundtrip()
    run = await run_tests(api, server, pad, pad["keys"]["edit"])
    custom = [r for r in run["results"] if r.get("custom")]
    assert [(r["name"], r["passed"]) for r in custom] == [("two", True)]
    assert run["finished"]["summary"] == "6/6 passed"
    view = api.post(f"/api/v1/pads/{pad['id']}/tests", params={"key": pad["keys"]["view"]})
    assert view.status_code == 403


# --- the starter set, checked ---------------------------------------------------------------------------------
BANK_SLUGS = sorted(p.name for p in BANK.iterdir() if (p / "question.yaml").is_file())


async def test_every_reference_solution_passes_every_case(api: httpx.Client, server: ServerProcess) -> None:
    async def check(slug: str) -> tuple[str, str]:
        pad = new_pad(api, slug, "python")
        await write_code(server, pad, (BANK / slug / "solutions" / "python" / "main.py").read_text())
        run = await run_tests(api, server, pad, pad["keys"]["owner"])
        return slug, run["finished"]["summary"]

    outcomes = [await check(slug) for slug in BANK_SLUGS]
    assert [summary for _, summary in outcomes] == [
        f"{len(list((BANK / slug / 'cases').glob('*.out')))}/{len(list((BANK / slug / 'cases').glob('*.out')))} passed"
        for slug in BANK_SLUGS
    ], outcomes


@pytest.mark.parametrize("language", ["python", "javascript", "java", "cpp", "go"])
async def test_every_starter_runs(api: httpx.Client, server: ServerProcess, language: str) -> None:
    """A starter compiles and runs to its end on every case (it prints no answer yet, so it does not pass)."""
    for slug in BANK_SLUGS:
        pad = new_pad(api, slug, language)
        run = await run_tests(api, server, pad, pad["keys"]["owner"])
        assert "compile" not in run["finished"], (slug, run["finished"])
        assert {r["verdict"] for r in run["results"]} == {"ok"}, (slug, language, run["results"])


# --- the per-client rate ------------------------------------------------------------------------------------
async def test_a_test_run_counts_as_one_start_against_the_per_minute_rate(tmp_path: Path) -> None:
    """Three starts a minute: three Run tests of five cases each (15 runs) all pass; the fourth is refused up
    front with a retry hint, and so is an ordinary run: they share the count."""
    limited = start_server(tmp_path, "questions-rate", PADBOX_SESSIONS_PER_MINUTE="3")
    try:
        with httpx.Client(base_url=limited.url, timeout=30) as own_api:
            pad = new_pad(own_api, "two-sum", "python")
            await write_code(limited, pad, TWO_SUM)
            for _ in range(3):
                run = await run_tests(own_api, limited, pad, pad["keys"]["edit"])
                assert run["finished"]["summary"] == "5/5 passed", run["results"]
            refused = own_api.post(f"/api/v1/pads/{pad['id']}/tests", params={"key": pad["keys"]["edit"]})
            assert refused.status_code == 429, refused.text
            assert "started 3 sessions in the last minute" in refused.json()["message"]
            assert 0 < int(refused.headers["Retry-After"]) <= 60
            executed = own_api.post("/api/v1/execute", json={"language": "python", "source": "print(1)"})
            assert executed.status_code == 429  # an ordinary run counts against the same rate
            history = own_api.get(f"/api/v1/pads/{pad['id']}/tests", params={"key": pad["keys"]["owner"]})
            assert len(history.json()["test_runs"]) == 3
    finally:
        limited.stop()
    assert not limited.containers(), "containers outlived their sessions"
