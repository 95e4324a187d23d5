"""Every HTTP response carries the security headers (web/headers.py): the pages, the API (answers, refusals,
404s and 405s), the bundle's static files; only the embed page may be framed, and only by PADBOX_EMBED_ORIGINS."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from padbox.assembly import assemble
from padbox.config import ConfigError, Settings
from padbox.web.app import STATIC_DIR, SecuredStarlette, create_app
from padbox.web.embed import ORIGINS_META, embed_html
from padbox.web.headers import headers_for
from tests.unit.fake_sandbox import FakeBackend

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

EMBEDDER = "https://ats.example"
PAD_ID = "Xq3_bZ-9aLk2mN0p"


def make_client(tmp_path: Path, **env: str) -> TestClient:
    settings = Settings.from_env({"PADBOX_POOL_SIZE": "0", "PADBOX_DATA_DIR": str(tmp_path), **env})
    assembly = assemble(settings, FakeBackend([]))
    return TestClient(create_app(assembly.served, assembly.node))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path, PADBOX_EMBED_ORIGINS=f"{EMBEDDER}, http://127.0.0.1:8123") as client:
        yield client


def directives(response_csp: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip() for part in response_csp.split(";")}


def assert_refuses_framing(headers: Mapping[str, str], what: str) -> None:
    csp = headers.get("content-security-policy", "")
    assert directives(csp)["frame-ancestors"] == "frame-ancestors 'none'", f"{what}: {csp}"
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert directives(csp)["script-src"] == "script-src 'self'", what


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", PAD_ID, path)


def test_every_http_route_answers_with_the_headers_whatever_the_method(client: TestClient) -> None:
    app = client.app
    routes = [route for route in app.routes if isinstance(route, Route)]  # type: ignore[attr-defined]
    checked = 0
    for route in routes:
        if route.path.startswith("/embed/"):
            continue
        for method in ("GET", "POST", "DELETE"):
            response = client.request(method, concrete(route.path), content=b"{}")
            assert_refuses_framing(response.headers, f"{method} {route.path} -> {response.status_code}")
            checked += 1
    assert checked >= 3 * 20, "the app's routes were not found"


def test_the_pages_and_the_bundle_refuse_every_frame(client: TestClient) -> None:
    if not STATIC_DIR.is_dir():
        pytest.fail("the page's bundle is not built: run `make static`")
    chunk = next((STATIC_DIR / "chunks").glob("*.js")).name
    for path in ["/", "/index.html", f"/p/{PAD_ID}", "/main.js", "/main.css", f"/chunks/{chunk}", "/no-such-file"]:
        response = client.get(path)
        assert_refuses_framing(response.headers, f"GET {path} -> {response.status_code}")


def test_the_embed_page_may_be_framed_by_the_listed_origins_only(client: TestClient) -> None:
    response = client.get(f"/embed/p/{PAD_ID}")
    assert response.status_code == 200
    csp = directives(response.headers["content-security-policy"])
    assert csp["frame-ancestors"] == f"frame-ancestors {EMBEDDER} http://127.0.0.1:8123"
    assert csp["script-src"] == "script-src 'self'"
    assert "x-frame-options" not in response.headers  # DENY would block the listed embedders too
    assert response.headers["x-content-type-options"] == "nosniff"
    assert f'<meta name="{ORIGINS_META}" content="{EMBEDDER} http://127.0.0.1:8123" />' in response.text


def test_without_embed_origins_the_embed_page_refuses_framing_too(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        response = client.get(f"/embed/p/{PAD_ID}")
    assert directives(response.headers["content-security-policy"])["frame-ancestors"] == "frame-ancestors 'none'"
    assert f'<meta name="{ORIGINS_META}" content="" />' in response.text


def test_even_the_servers_own_error_page_carries_them() -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    app = SecuredStarlette(["https://ats.example"], routes=[Route("/boom", broken)])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert_refuses_framing(response.headers, "the 500 page")


def test_the_policy_allows_no_inline_script_and_sockets_only_to_the_page_itself() -> None:
    csp = directives(headers_for("/", ())["Content-Security-Policy"])
    assert csp["default-src"] == "default-src 'self'"
    assert csp["script-src"] == "script-src 'self'"
    assert csp["connect-src"] == "connect-src 'self'"
    assert csp["object-src"] == "object-src 'none'"
    assert "unsafe-inline" not in csp["script-src"] and "unsafe-eval" not in str(csp)


def test_the_page_has_no_inline_script() -> None:
    page = (Path(__file__).resolve().parents[2] / "static" / "src" / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag, f"an inline script would be refused by the CSP: {tag}"
    assert not re.search(r"\son[a-z]+=", page), "inline event handlers are scripts too"


def test_the_embed_origins_go_into_the_head_escaped() -> None:
    page = b"<html><head><title>t</title></head><body></body></html>"
    assert embed_html(page, ["https://a.example"]).count(b'content="https://a.example"') == 1


@pytest.mark.parametrize(
    "value",
    ["*", "https://a.example; script-src *", "https://a.example/path", "javascript:alert(1)", "a.example", "'self'"],
)
def test_an_embed_origin_that_is_not_a_plain_origin_stops_the_server(value: str) -> None:
    with pytest.raises(ConfigError, match="PADBOX_EMBED_ORIGINS"):
        Settings.from_env({"PADBOX_EMBED_ORIGINS": value})


def test_embed_origins_are_plain_origins_of_any_port_or_address() -> None:
    raw = "https://ats.example, http://127.0.0.2:8080/, http://[::1]:9000"
    settings = Settings.from_env({"PADBOX_EMBED_ORIGINS": raw})
    assert settings.embed_origins == ("https://ats.example", "http://127.0.0.2:8080", "http://[::1]:9000")
