from __future__ import annotations

from pathlib import Path

import pytest

from padbox.core.access import AccessPolicy, ClientLimiter, client_identity, load_tokens, token_from
from padbox.core.capacity import Busy
from padbox.core.protocol import ErrorCode, ProtocolError


def test_tokens_come_from_the_variable_and_the_file(tmp_path: Path) -> None:
    file = tmp_path / "tokens"
    file.write_text("# ops\nfile-token  # for CI\n\n")
    assert load_tokens(" a, b ,", str(file)) == ("a", "b", "file-token")
    assert load_tokens("", "") == ()


def test_token_is_found_in_query_header_or_subprotocol() -> None:
    assert token_from({"token": "q"}, {}) == "q"
    assert token_from({}, {"authorization": "Bearer h"}) == "h"
    assert token_from({}, {"sec-websocket-protocol": "chat, padbox.token.s"}) == "s"
    assert token_from({}, {}) is None


def test_tokens_are_required_only_when_configured() -> None:
    AccessPolicy().check_token(None)
    policy = AccessPolicy(tokens=("right",))
    policy.check_token("right")
    for wrong in (None, "", "wrong", "righ", "right2"):
        with pytest.raises(ProtocolError) as caught:
            policy.check_token(wrong)
        assert caught.value.code is ErrorCode.UNAUTHORIZED


def test_origin_must_be_the_servers_own_unless_allowed() -> None:
    same = AccessPolicy()
    same.check_origin(None, "pad.example:8000")  # not a browser
    same.check_origin("http://pad.example:8000", "pad.example:8000")
    with pytest.raises(ProtocolError, match="not allowed"):
        same.check_origin("https://evil.example", "pad.example:8000")
    AccessPolicy(allowed_origins=("https://app.example",)).check_origin("https://app.example/", "pad:8000")
    AccessPolicy(allowed_origins=("*",)).check_origin("https://anything.example", "pad:8000")


def test_client_limiter_caps_concurrency_and_rate_with_a_retry_hint() -> None:
    limiter = ClientLimiter(max_concurrent=2, per_minute=3)
    limiter.admit("a", now=0)
    limiter.admit("a", now=1)
    with pytest.raises(Busy) as caught:
        limiter.admit("a", now=2)
    assert caught.value.retry_after_s == 1
    limiter.admit("b", now=2)  # another client is unaffected
    limiter.release("a")
    limiter.admit("a", now=3)
    limiter.release("a")
    limiter.release("a")
    with pytest.raises(Busy) as caught:
        limiter.admit("a", now=10)  # fourth start within a minute
    assert caught.value.retry_after_s == 50
    limiter.admit("a", now=61)  # the window has moved on


def test_an_unrated_session_holds_a_running_slot_but_is_no_start() -> None:
    limiter = ClientLimiter(max_concurrent=2, per_minute=1)
    limiter.start("a", now=0)  # a test run's one start
    limiter.admit("a", now=1, rated=False)  # its cases
    limiter.admit("a", now=1, rated=False)
    with pytest.raises(Busy, match="2 sessions running"):
        limiter.admit("a", now=1, rated=False)  # the running cap holds for cases too
    limiter.release("a")
    limiter.admit("a", now=2, rated=False)
    with pytest.raises(Busy, match="started 1 sessions in the last minute") as caught:
        limiter.start("a", now=3)
    assert caught.value.retry_after_s == 57
    limiter.release("a")
    limiter.release("a")
    with pytest.raises(Busy):
        limiter.admit("a", now=4)  # an ordinary session is a start: over the rate
    limiter.admit("a", now=61)


def test_clients_are_told_apart_by_token_when_tokens_are_on() -> None:
    assert client_identity("t", "1.2.3.4", tokens_enabled=False) == "ip:1.2.3.4"
    by_token = client_identity("t", "1.2.3.4", tokens_enabled=True)
    assert by_token.startswith("token:") and "t" != by_token[6:]


def test_logged_urls_lose_their_tokens() -> None:
    import logging

    from padbox.core.access import RedactTokens

    args = ("1.2.3.4", "/ws?token=abc&x=1")
    record = logging.LogRecord("uvicorn", logging.INFO, "", 0, '%s - "WebSocket %s"', args, None)
    RedactTokens().filter(record)
    assert record.getMessage() == '1.2.3.4 - "WebSocket /ws?token=REDACTED&x=1"'


def test_an_access_log_line_keeps_its_arguments_for_uvicorns_formatter() -> None:
    """uvicorn's access formatter unpacks the record's arguments: redaction must leave them a tuple."""
    import logging

    from uvicorn.logging import AccessFormatter

    from padbox.core.access import RedactTokens

    args = ("127.0.0.1:0", "GET", "/p/abc?token=secret", "1.1", 200)
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)
    RedactTokens().filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:0 - "GET /p/abc?token=REDACTED HTTP/1.1" 200 OK' and "secret" not in line
