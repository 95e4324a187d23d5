"""Every HTTP endpoint that takes a JSON body refuses one that is not valid JSON with 400, whitespace alone
included (schemathesis found a lone `\\r` creating a pad); an empty body is accepted only where the API says
the body may be left out."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from padbox.assembly import assemble
from padbox.config import Settings
from padbox.web.app import create_app
from tests.unit.fake_sandbox import FakeBackend

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

NOT_JSON = [b"\r", b" ", b"\n\t", b"{", b"nul"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.from_env(
        {"PADBOX_POOL_SIZE": "0", "PADBOX_DATA_DIR": str(tmp_path), "PADBOX_ADMIN_TOKENS": "operator"}
    )
    assembly = assemble(settings, FakeBackend([]))
    with TestClient(create_app(assembly.served, assembly.node)) as client:
        yield client


def owner_pad(client: TestClient) -> tuple[str, str]:
    created = client.post("/api/v1/pads", content=b"")
    assert created.status_code == 201, created.text
    pad = created.json()
    return pad["id"], pad["keys"]["owner"]


@pytest.mark.parametrize("body", NOT_JSON)
def test_a_body_that_is_not_json_is_refused_by_every_endpoint(client: TestClient, body: bytes) -> None:
    pad_id, key = owner_pad(client)
    pad = f"/api/v1/pads/{pad_id}"
    calls = [
        ("POST", "/api/v1/pads"),
        ("POST", "/api/v1/execute"),
        ("POST", "/api/v2/execute"),
        ("POST", f"{pad}/runs?key={key}"),
        ("POST", f"{pad}/links?key={key}"),
        ("PUT", f"{pad}/notes?key={key}"),
        ("POST", f"{pad}/tests?key={key}"),
        ("PUT", f"{pad}/question?key={key}"),
        ("POST", "/api/v1/questions?token=operator"),
        ("PUT", "/api/v1/questions/two-sum?token=operator"),
    ]
    for method, path in calls:
        answer = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, (method, path, answer.text)
        assert "not valid JSON" in answer.json()["message"], (method, path)


def test_an_empty_body_is_accepted_only_where_the_api_lets_it_be_left_out(client: TestClient) -> None:
    pad_id, key = owner_pad(client)  # POST /api/v1/pads: the body may be left out
    pad = f"/api/v1/pads/{pad_id}"
    for method, path in [
        ("POST", "/api/v1/execute"),
        ("POST", "/api/v2/execute"),
        ("POST", f"{pad}/links?key={key}"),
        ("PUT", f"{pad}/notes?key={key}"),
        ("PUT", f"{pad}/question?key={key}"),
        ("POST", "/api/v1/questions?token=operator"),
    ]:
        answer = client.request(method, path, content=b"")
        assert answer.status_code == 400, (method, path, answer.text)
