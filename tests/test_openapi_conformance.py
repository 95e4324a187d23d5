"""The OpenAPI document against the real server (schemathesis): for every operation, requests the schema
admits are run and requests it forbids are refused, and every answer has a documented status, content
type and body. So the document says exactly what the server accepts and answers.

A real server process, the real Docker engine and image: every admitted execute request runs a program.
The server's limits are lowered (and so are the maxima the document states) so that programs end fast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.core.transport import Response
from schemathesis.generation.modes import GenerationMode

from tests.conftest import ServerProcess, docker_containers, start_server

pytestmark = pytest.mark.docker

INSTANCE = f"openapi-{os.getpid()}"
# The question bank's writes need an operator token: every case carries it, so they are checked beyond the door.
# They only touch this server's own database, made for the test.
OPERATOR = "openapi-operator"
SERVER_ENV = {
    "PADBOX_ADMIN_TOKENS": OPERATOR,
    "PADBOX_SESSIONS_PER_MINUTE": "100000",  # one client sends every case
    "PADBOX_MAX_SESSIONS": "4",
    "PADBOX_POOL_SIZE": "1",
    "PADBOX_DEFAULT_COMPILE_TIMEOUT_S": "10",
    "PADBOX_MAX_COMPILE_TIMEOUT_S": "10",
    "PADBOX_DEFAULT_RUN_TIMEOUT_S": "2",
    "PADBOX_MAX_RUN_TIMEOUT_S": "2",
    "PADBOX_DEFAULT_CPU_TIME_S": "2",
    "PADBOX_MAX_CPU_TIME_S": "2",
}
EXECUTES = ("execute", "pistonExecute")
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "deterministic": True, "max-examples": 50},
        "checks": {
            "enabled": False,
            **{
                name: {"enabled": True}
                for name in (
                    "not_a_server_error",
                    "status_code_conformance",
                    "content_type_conformance",
                    "response_schema_conformance",
                    "negative_data_rejection",
                )
            },
        },
        "operations": [
            {"include-operation-id": operation, "generation": {"max-examples": 15}} for operation in EXECUTES
        ],
    }
)

# What a schema cannot state (JSON Schema has no "unique by key", no UTF-8 byte counts, no catalogue of
# runtimes or semver ranges), so the server alone refuses it, with these words; any other refusal of a
# schema-valid request is a mismatch between the document and the server.
UNSTATABLE = (
    "appears twice",  # two files of one name
    "bytes in UTF-8",  # a name part longer than NAME_MAX in bytes, though at most 255 characters
    "the source's file is named after its text",  # Java's public class as a file name
    "runtime is unknown",  # Piston: a language or a version range this server has no runtime for
    "is not valid base64",
    "is not valid hex",
    "once decoded",  # Piston: encoded content that is not UTF-8 text
    "is not one of the files",  # a new pad's `entry` must name one of its `files`
    "unknown language",  # a question's starter in a language this server does not run
    "a second starter for",  # two starters whose languages are one (`py` and `python`)
    "is not the path's",  # a question PUT at another slug than its own
)
# Answers a valid request may get that say nothing about its validity (schemathesis's own list).
NOT_ABOUT_THE_REQUEST = {401, 403, 404, 409, 429, 500, 502, 503}

cases: dict[str, dict[str, int]] = {}  # checked cases, by operation and generation mode: printed at the end


@schemathesis.check
def positive_data_accepted(ctx: Any, response: Response, case: Case) -> bool | None:
    """schemathesis's positive_data_acceptance, less the refusals listed in UNSTATABLE."""
    mode = str(case.meta.generation.mode) if case.meta else "explicit"
    counts = cases.setdefault(case.operation.label, {})
    counts[mode] = counts.get(mode, 0) + 1
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return None
    status = response.status_code
    if status < 400 or status in NOT_ABOUT_THE_REQUEST:
        return None
    try:
        message = str(json.loads(response.text).get("message", ""))
    except (ValueError, AttributeError):
        message = ""
    if status == 400 and any(words in message for words in UNSTATABLE):
        return None
    raise Failure(
        operation=case.operation.label,
        title="Schema-valid request rejected",
        message=f"[{status}] {response.text[:300]}",
    )


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(tmp_path_factory.mktemp("openapi"), INSTANCE, **SERVER_ENV)
    yield srv
    srv.stop()
    print(f"\nschemathesis cases checked, by operation and mode: {json.dumps(cases)}")
    assert not docker_containers(INSTANCE), "containers outlived their sessions"


@pytest.fixture
def openapi_schema(conformance_server: ServerProcess, request: pytest.FixtureRequest) -> Any:
    # schemathesis 4.32's plugin names each operation's subtest by rewriting the node's `_nodeid`, which
    # pytest 9.2 no longer has: give it one.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    return schemathesis.openapi.from_url(f"{conformance_server.url}/openapi.json", config=CONFIG)


schema = schemathesis.pytest.from_fixture("openapi_schema")


@schema.parametrize()
def test_every_operation_does_what_the_openapi_document_says(case: Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {OPERATOR}"}, additional_checks=[positive_data_accepted], timeout=60
    )
