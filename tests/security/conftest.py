"""The red team's server: started once for the security suite, checked for leftovers when it stops."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import docker_containers, start_server
from tests.security.target import Target, new_secret


@pytest.fixture(scope="package")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    token = new_secret("token")
    canary = new_secret("canary")
    instance = f"pytest-redteam-{os.getpid()}"
    # The canary stands for every secret an operator might leave in the server's environment.
    srv = start_server(
        tmp_path_factory.mktemp("redteam"),
        instance,
        PADBOX_POOL_SIZE="0",
        PADBOX_TOKENS=token,
        PADBOX_SESSIONS_PER_MINUTE="100000",
        AWS_SECRET_ACCESS_KEY=canary,
        PADBOX_CANARY=canary,
    )
    yield Target(srv, token, canary)
    srv.stop()
    assert docker_containers(instance) == [], "containers outlived the red team's server"
