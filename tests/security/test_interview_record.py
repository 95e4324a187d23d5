"""Attacks on the interview's record: a candidate (an edit key) or a watcher (a view key) trying to read the owner's
notes and report, to forge marks (a time of their own choosing, another author, a huge paste, a note), to flood the
timeline, or to crash the events socket with bad marks. Each is refused with a clear error, the socket stays open,
and the server goes on."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.pads_client import Events, http
from tests.security.target import Target

SECRET_NOTE = "owner-only-note-c41f"


def pad_of(target: Target) -> dict[str, Any]:
    status, pad = http("POST", f"{target.server.url}/api/v1/pads", {}, auth(target))
    assert status == 201, pad
    return dict(pad)


def auth(target: Target) -> dict[str, str]:
    return {"Authorization": f"Bearer {target.token}"}


async def socket(target: Target, pad: dict[str, Any], role: str) -> Events:
    base = f"ws://127.0.0.1:{target.server.port}"
    events = await Events.connect(base, pad["id"], pad["keys"][role], role, headers=auth(target))
    await events.next_of("pad")
    return events


async def test_the_candidate_cannot_read_the_owners_notes_or_record_on_any_endpoint(target: Target) -> None:
    pad = pad_of(target)
    owner = await socket(target, pad, "owner")
    await owner.send({"type": "note", "text": SECRET_NOTE})
    assert (await owner.next_of("pad_mark"))["mark"]["text"] == SECRET_NOTE
    base = f"{target.server.url}/api/v1/pads/{pad['id']}"
    for role in ("edit", "view"):
        key = pad["keys"][role]
        for path in ("/notes", "/history", "/export", "/report"):
            status, body = http("GET", f"{base}{path}?key={key}", None, auth(target))
            assert status == 403 and body["code"] == "forbidden", (role, path, body)
            assert SECRET_NOTE not in json.dumps(body)
        status, _ = http("PUT", f"{base}/notes?key={key}", {"notes": "overwritten"}, auth(target))
        assert status == 403
    # A key that is not the pad's is the same `not_found` as an unknown pad, on the report too.
    status, body = http("GET", f"{base}/report?key={pad['keys']['owner']}x", None, auth(target))
    assert status == 404 and body["code"] == "not_found"
    await owner.close()


async def test_forged_marks_are_refused_and_the_socket_stays_open(target: Target) -> None:
    pad = pad_of(target)
    candidate, watcher = await socket(target, pad, "edit"), await socket(target, pad, "view")
    forged: list[tuple[Events, Any, str]] = [
        (candidate, {"type": "paste", "size": 10, "at": 1.0}, "bad_request"),  # a time of its own
        (candidate, {"type": "paste", "size": 10, "author": {"name": "Olga", "role": "owner"}}, "bad_request"),
        (candidate, {"type": "paste", "size": 10**12}, "bad_request"),
        (candidate, {"type": "paste", "size": True}, "bad_request"),
        (candidate, {"type": "focus", "state": None}, "bad_request"),
        (candidate, {"type": "note", "text": "I was brilliant"}, "forbidden"),
        (watcher, {"type": "focus", "state": "lost"}, "forbidden"),
        (watcher, {"type": "note", "text": "x"}, "forbidden"),
        (candidate, ["paste", 10], None),  # not an action at all: ignored
        (candidate, "\x00\xff" * 10, None),
    ]
    for events, action, code in forged:
        await events.connection.send(action if isinstance(action, str) else json.dumps(action))
        if code is not None:
            assert (await events.next_of("error"))["code"] == code, action
    # Still open and answering: a genuine mark is recorded, with the server's time and the socket's own name.
    await candidate.send({"type": "paste", "size": 321})
    status, history = http(
        "GET", f"{target.server.url}/api/v1/pads/{pad['id']}/history?key={pad['keys']['owner']}", None, auth(target)
    )
    assert status == 200
    marks = history["marks"]
    assert [(m["kind"], m["size"], m["author"]) for m in marks] == [("paste", 321, {"name": "edit", "role": "edit"})]
    assert marks[0]["at"] > 1e9
    for events in (candidate, watcher):
        await events.close()


async def test_a_flood_of_marks_is_held_to_the_rate_and_the_server_goes_on(target: Target) -> None:
    pad = pad_of(target)
    candidate = await socket(target, pad, "edit")
    for _ in range(500):
        await candidate.send({"type": "focus", "state": "lost"})
    await candidate.next_of("error")  # `busy`, past the burst
    status, history = http(
        "GET", f"{target.server.url}/api/v1/pads/{pad['id']}/history?key={pad['keys']['owner']}", None, auth(target)
    )
    assert status == 200 and len(history["marks"]) <= 20, len(history["marks"])
    await candidate.close()
    assert httpx.get(f"{target.server.url}/healthz", timeout=10).status_code == 200
