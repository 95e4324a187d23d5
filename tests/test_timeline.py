"""The interview's story against a real server: typed input kept with its times, pastes and focus changes reported
by the page and kept for the owner, notes pinned to moments and never sent to anyone else, the report, and the
signed webhook (received on loopback, verified, a replay rejected, a failed first attempt retried)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from padbox.client import Client, connect
from padbox.webhooks.signing import Rejected, Verifier
from padbox_dev.pad_client import replace
from tests.conftest import ServerProcess, instance_name, start_server
from tests.eventually import eventually
from tests.pads_client import Events, YClient, http, new_pad, ws_base
from tests.webhook_receiver import Receiver, receiver

pytestmark = pytest.mark.docker

SECRET = "test-webhook-secret"
ASK = "name = input('name? ')\nprint('hello', name)\n"
NOTE = "candidate explains the hash map well: pinned-note-7f3a"
SOLUTION = Path(__file__).parents[1] / "server/padbox/questions/bank/two-sum/solutions/python/main.py"


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hooks: Receiver) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("timeline"),
        instance_name("pytest-timeline"),
        PADBOX_POOL_SIZE="1",
        PADBOX_SESSIONS_PER_MINUTE="100000",
        PADBOX_WEBHOOK_URL=hooks.url,
        PADBOX_WEBHOOK_SECRET=SECRET,
        PADBOX_WEBHOOK_BACKOFF_S="0.5",
        PADBOX_WEBHOOK_POLL_S="0.2",
        PADBOX_WEBHOOK_TIMEOUT_S="5",
        PADBOX_WEBHOOK_LEASE_S="10",
        PADBOX_PAD_MARKS_PER_S="2",
    )
    yield srv
    srv.stop()


def pad_url(server: ServerProcess, pad: dict[str, Any], what: str = "", role: str = "owner") -> str:
    return f"{server.url}/api/v1/pads/{pad['id']}{what}?key={pad['keys'][role]}"


async def events(server: ServerProcess, pad: dict[str, Any], role: str, name: str = "") -> Events:
    socket = await Events.connect(ws_base(server), pad["id"], pad["keys"][role], name or role)
    await socket.next_of("pad")
    return socket


async def run_with_input(server: ServerProcess, pad: dict[str, Any], typed: str, role: str = "edit") -> str:
    """Run the pad, type `typed` into its terminal once the prompt is there, and wait for it to be recorded."""
    watcher = await events(server, pad, role)
    status, accepted = http("POST", pad_url(server, pad, "/runs", role), {"name": "Ada"})
    assert status == 202, accepted
    started = await watcher.next_of("pad_run")
    async with connect(server.ws_url) as socket:
        driver = Client(socket)
        await driver.join(started["run_id"], started["key"], "driver")
        await driver.until_output("name?")
        await driver.stdin(typed)
        await driver.until_output("hello")
    assert (await watcher.next_of("pad_run_finished"))["verdict"] == "ok"
    await watcher.close()
    return str(started["run_id"])


# --- the terminal ---------------------------------------------------------------------------------------------
async def test_what_is_typed_into_a_pad_run_is_kept_with_its_time_between_the_output_around_it(
    server: ServerProcess,
) -> None:
    pad = new_pad(server, files=[{"name": "main.py", "content": ASK}])
    run_id = await run_with_input(server, pad, "Grace\n")
    status, history = http("GET", pad_url(server, pad, "/history"))
    assert status == 200
    (run,) = history["runs"]
    assert run["run_id"] == run_id
    transcript = run["transcript"]
    kinds = [kind for _, kind, _ in transcript]
    typed = [entry for entry in transcript if entry[1] == "in"]
    assert [text for _, _, text in typed] == ["Grace\n"]
    prompt = next(i for i, entry in enumerate(transcript) if entry[1] == "out" and "name?" in entry[2])
    greeting = next(i for i, entry in enumerate(transcript) if entry[1] == "out" and "hello Grace" in entry[2])
    assert prompt < kinds.index("in") < greeting, transcript
    times = [at for at, _, _ in transcript]
    assert times == sorted(times) and run["at"] - 1 <= times[0] and times[-1] <= run["finished_at"]
    # Replaying the transcript up to the moment of the input shows the prompt and not yet the answer. Times are kept
    # to the millisecond, so the prompt and a quick answer can share one: the order is the transcript's.
    before = "".join(text for at, _, text in transcript[: kinds.index("in")] if at <= typed[0][0])
    assert "name?" in before and "hello" not in before


# --- pastes and focus -------------------------------------------------------------------------------------------
async def test_paste_and_focus_marks_reach_the_owners_history_with_no_candidate_page_open(
    server: ServerProcess,
) -> None:
    pad = new_pad(server)
    owner = await events(server, pad, "owner")
    candidate = await events(server, pad, "edit", "Grace")
    before = time.time()
    for action in (
        {"type": "paste", "size": 240},
        {"type": "focus", "state": "lost"},
        {"type": "focus", "state": "regained"},
        {"type": "focus", "state": "hidden"},
    ):
        await candidate.send(action)
    live = [(await owner.next_of("pad_mark"))["mark"] for _ in range(4)]
    assert [m["kind"] for m in live] == ["paste", "focus_lost", "focus_regained", "hidden"]
    await candidate.close()  # the candidate's page is gone: the marks are the server's now
    await owner.close()
    status, history = http("GET", pad_url(server, pad, "/history"))
    assert status == 200
    marks = history["marks"]
    assert [m["kind"] for m in marks] == ["paste", "focus_lost", "focus_regained", "hidden"]
    assert marks[0]["size"] == 240 and marks[0]["author"] == {"name": "Grace", "role": "edit"}
    assert all(before <= m["at"] <= time.time() for m in marks)


async def test_bad_marks_get_an_error_and_the_socket_stays_open(server: ServerProcess) -> None:
    pad = new_pad(server)
    viewer = await events(server, pad, "view")
    await viewer.send({"type": "paste", "size": 500})
    assert (await viewer.next_of("error"))["code"] == "forbidden"
    editor = await events(server, pad, "edit")
    for bad in (
        {"type": "paste", "size": -3},
        {"type": "paste"},
        {"type": "focus", "state": "sideways"},
        {"type": "paste", "size": "lots"},
        {"type": "note", "text": "an editor may not pin notes"},
    ):
        await editor.send(bad)
        code = (await editor.next_of("error"))["code"]
        assert code == ("forbidden" if bad["type"] == "note" else "bad_request"), bad
    # Past the rate (2 a second, bursts of 8): refused with `busy`, and the socket still answers.
    for _ in range(12):
        await editor.send({"type": "focus", "state": "lost"})
    assert (await editor.next_of("error"))["code"] == "busy"
    status, history = http("GET", pad_url(server, pad, "/history"))
    assert status == 200 and 1 <= len(history["marks"]) <= 10
    await editor.send({"type": "note"})  # the socket still answers: this malformed action is told so
    while (await editor.next_of("error"))["code"] != "bad_request":
        pass
    for socket in (viewer, editor):
        await socket.close()


# --- notes ------------------------------------------------------------------------------------------------------
async def raw_socket(url: str) -> tuple[Any, list[bytes | str], asyncio.Task[None]]:
    """A socket whose every frame is kept, whatever it is."""
    socket = await websockets.connect(url)
    frames: list[bytes | str] = []

    async def read() -> None:
        try:
            async for frame in socket:
                frames.append(frame)
        except websockets.ConnectionClosed:
            pass

    return socket, frames, asyncio.get_running_loop().create_task(read())


def holds(frame: bytes | str, text: str) -> bool:
    return text.encode() in (frame if isinstance(frame, bytes) else frame.encode())


async def test_a_note_is_pinned_to_its_moment_and_never_reaches_edit_or_view_over_any_path(
    server: ServerProcess,
) -> None:
    pad = new_pad(server, files=[{"name": "main.py", "content": ASK}])
    base = ws_base(server)
    # Every socket a candidate or a watcher has: the document's, the events', and the run's.
    others = {}
    for role in ("edit", "view"):
        others[f"doc-{role}"] = await raw_socket(f"{base}/ws/pads/{pad['id']}?key={pad['keys'][role]}&name={role}")
        others[f"events-{role}"] = await raw_socket(f"{base}/ws/pads/{pad['id']}/events?key={pad['keys'][role]}")
    owner = await events(server, pad, "owner")
    status, accepted = http("POST", pad_url(server, pad, "/runs", "edit"), {"name": "Ada"})
    assert status == 202
    started = await owner.next_of("pad_run")
    run_keys = {}
    for role in ("edit", "view"):
        _, frames, _ = others[f"events-{role}"]
        await eventually(lambda frames=frames: any(holds(f, '"pad_run"') for f in frames), 10, "the run announced")
        run_keys[role] = next(json.loads(f)["key"] for f in frames if holds(f, '"pad_run"'))
    for role in ("edit", "view"):
        socket, frames, reader = await raw_socket(server.ws_url)
        join = {
            "type": "join",
            "id": accepted["run_id"],
            "key": run_keys[role],
            "role": {"edit": "driver"}.get(role, "viewer"),
        }
        await socket.send(json.dumps(join))
        others[f"run-{role}"] = (socket, frames, reader)
    before = time.time()
    await owner.send({"type": "note", "text": NOTE})
    pinned = (await owner.next_of("pad_mark"))["mark"]
    assert pinned["kind"] == "note" and pinned["text"] == NOTE and before <= pinned["at"] <= time.time()
    assert pinned["at"] >= started["at"], "pinned during the run: after it started"
    # The marker after the forbidden message: the pad ends, which every events socket is told after the note.
    assert http("POST", pad_url(server, pad, "/end"), {})[0] == 200
    for role in ("edit", "view"):
        _, frames, _ = others[f"events-{role}"]
        await eventually(lambda frames=frames: any(holds(f, '"pad_ended"') for f in frames), 10, "the end told")
    for _, frames, _ in (others["run-edit"], others["run-view"]):
        await eventually(lambda frames=frames: any(holds(f, '"exit"') for f in frames), 30, "the run's end")
    for name, (socket, frames, reader) in others.items():
        assert frames, f"{name} received nothing at all"
        assert not any(holds(frame, "pinned-note-7f3a") for frame in frames), name
        await socket.close()
        reader.cancel()
    # Every endpoint, for the edit and view keys.
    for role in ("edit", "view"):
        for what in ("/history", "/export", "/report", "/notes"):
            status, body = http("GET", pad_url(server, pad, what, role))
            assert status == 403 and body["code"] == "forbidden", (role, what)
        for what in ("", "/tests", "/question"):
            status, body = http("GET", pad_url(server, pad, what, role))
            assert "pinned-note-7f3a" not in json.dumps(body), (role, what)
    # The owner has it, at its moment, on every path.
    status, history = http("GET", pad_url(server, pad, "/history"))
    assert [m["text"] for m in history["marks"] if m["kind"] == "note"] == [NOTE]
    status, report = http("GET", pad_url(server, pad, "/report"))
    assert report["pinned_notes"] == [{"at": pinned["at"], "text": NOTE}]
    await owner.close()


# --- the report -------------------------------------------------------------------------------------------------
async def test_the_report_after_a_scripted_interview_holds_every_field(server: ServerProcess) -> None:
    status, pad = http("POST", f"{server.url}/api/v1/pads", {"question": "two-sum", "language": "python"})
    assert status == 201, pad
    candidate = await events(server, pad, "edit", "Grace")
    # The candidate pastes the solution (the page reports its size), looks away once, and runs the tests.
    solution = SOLUTION.read_text()
    async with await YClient.connect(ws_base(server), pad["id"], pad["keys"]["edit"], "Grace") as peer:
        await peer.synced.wait()
        await peer.edit(replace(str(peer.meta()["entry"]), solution))
        await peer.roundtrip()
    await candidate.send({"type": "paste", "size": len(solution)})
    await candidate.send({"type": "focus", "state": "lost"})
    await candidate.send({"type": "focus", "state": "regained"})
    await candidate.send({"type": "run_tests"})
    finished = await candidate.next_of("test_run_finished", timeout=120)
    assert finished["passed"] == finished["total"] > 0
    owner = await events(server, pad, "owner")
    await owner.send({"type": "note", "text": "solid: " + NOTE})
    await owner.next_of("pad_mark")
    assert http("PUT", pad_url(server, pad, "/notes"), {"notes": "Hire."})[0] == 200
    status, ended = http("POST", pad_url(server, pad, "/end"), {})
    assert status == 200
    status, report = http("GET", pad_url(server, pad, "/report"))
    assert status == 200, report
    assert report["pad"]["id"] == pad["id"] and report["pad"]["title"] == "Two Sum"
    assert report["pad"]["language"] == "python" and report["pad"]["ended_at"] == ended["ended_at"]
    assert report["pad"]["duration_s"] == pytest.approx(ended["ended_at"] - report["pad"]["created_at"], abs=0.01)
    assert report["question"] == {"slug": "two-sum", "title": "Two Sum", "difficulty": report["question"]["difficulty"]}
    (tests,) = report["test_runs"]
    assert tests["passed"] == tests["total"] == finished["total"] and tests["summary"] == finished["summary"]
    assert tests["by"] == "Grace" and len(tests["results"]) == tests["total"]
    assert any(r["hidden"] and "expected" in r for r in tests["results"]), "the owner's report shows hidden cases"
    assert [f["content"] for f in report["code"]["files"] if f["name"] == report["code"]["entry"]] == [solution]
    assert report["notes"] == "Hire." and [n["text"] for n in report["pinned_notes"]] == ["solid: " + NOTE]
    assert report["pastes"]["count"] == 1 and report["pastes"]["characters"] == len(solution)
    assert report["pastes"]["items"][0]["by"] == "Grace"
    assert report["focus_lost"]["count"] == 1 and len(report["focus_lost"]["at"]) == 1
    assert report["runs"] == []
    status, exported = http("GET", pad_url(server, pad, "/export"))
    assert status == 200 and exported["report"] == report and exported["marks"]
    for role in ("edit", "view"):
        assert http("GET", pad_url(server, pad, "/report", role))[0] == 403
    for socket in (candidate, owner):
        await socket.close()


# --- the webhook ------------------------------------------------------------------------------------------------
async def test_a_pads_end_is_posted_signed_once_and_a_replay_is_rejected(
    server: ServerProcess, hooks: Receiver
) -> None:
    pad = new_pad(server, title="Webhook interview", files=[{"name": "main.py", "content": ASK}])
    await run_with_input(server, pad, "Grace\n")
    status, ended = http("POST", pad_url(server, pad, "/end"), {})
    assert status == 200

    def ours() -> list[Any]:
        return [r for r in hooks.received if json.loads(r.body)["report"]["pad"]["id"] == pad["id"]]

    took = await eventually(lambda: ours(), 15, "the webhook received")
    print(f"the report reached the receiver {took * 1000:.0f} ms after the end was answered")
    (first,) = ours()
    verifier = Verifier(SECRET)
    assert verifier.verify(first.headers, first.body) is True
    body = json.loads(first.body)
    assert body["event"] == "pad.ended" and first.headers["Padbox-Event"] == "pad.ended"
    assert body["delivery_id"] == first.headers["Padbox-Delivery"]
    assert body["report"]["pad"]["ended_at"] == ended["ended_at"] and body["report"]["runs"][0]["input"] == "Grace\n"
    status, report = http("GET", pad_url(server, pad, "/report"))
    assert json.loads(first.body)["report"] == report
    # The same request sent again (a replay inside the window) is known as a repeat; later, it is refused.
    assert verifier.verify(first.headers, first.body) is False
    with pytest.raises(Rejected, match="tolerance"):
        Verifier(SECRET).verify(first.headers, first.body, now=time.time() + 3600)
    with pytest.raises(Rejected, match="does not match"):
        Verifier(SECRET).verify(first.headers, first.body.replace(b"Grace", b"Alice"))
    with pytest.raises(Rejected):
        Verifier("another secret").verify(first.headers, first.body)
    # Exactly once: ending it again owes nothing more, and the metrics count one delivery.
    assert http("POST", pad_url(server, pad, "/end"), {})[0] == 200
    metrics = http_text(f"{server.url}/metrics")
    assert 'padbox_webhook_deliveries_total{outcome="delivered"}' in metrics
    assert len(ours()) == 1


def http_text(url: str) -> str:
    import httpx

    return httpx.get(url, timeout=10).text


def counter(metrics: str, outcome: str) -> float:
    line = next(
        x for x in metrics.splitlines() if x.startswith(f'padbox_webhook_deliveries_total{{outcome="{outcome}"}}')
    )
    return float(line.split()[-1])


async def test_a_failed_first_delivery_is_retried_with_the_same_delivery_id(
    server: ServerProcess, hooks: Receiver
) -> None:
    failed_before = counter(http_text(f"{server.url}/metrics"), "failed")
    pad = new_pad(server, title="Retried")
    hooks.fail_next = 1
    assert http("POST", pad_url(server, pad, "/end"), {})[0] == 200

    def ours() -> list[Any]:
        return [r for r in hooks.received if json.loads(r.body)["report"]["pad"]["id"] == pad["id"]]

    await eventually(lambda: len(ours()) >= 2, 20, "the delivery retried")
    first, second = ours()[:2]
    assert first.headers["Padbox-Delivery"] == second.headers["Padbox-Delivery"]
    assert first.body == second.body, "the body is frozen at the first attempt"
    verifier = Verifier(SECRET)
    assert verifier.verify(second.headers, second.body) is True
    assert verifier.verify(first.headers, first.body) is False, "the failed attempt is the same delivery"
    assert counter(http_text(f"{server.url}/metrics"), "failed") == failed_before + 1
    assert "failed (attempt 1" in server.log_path.read_text()
