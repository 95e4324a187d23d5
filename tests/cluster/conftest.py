"""The local cluster the cluster tests run against: Redis, PostgreSQL, HAProxy and three padbox nodes, started
once for the module run (padbox_dev.local_cluster, as `make cluster` starts them) on ports of their own, and stopped
after. Missing parts fail the tests loudly (`make cluster-test` installs them), never skip them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from padbox_dev.local_cluster import Layout, LocalCluster
from tests.conftest import require_docker
from tests.webhook_receiver import Receiver, receiver

TOKENS = ("spread", "joins", "caps", "redis", "loss", "rolling", "pads", "bench", "questions", "webhooks")
WEBHOOK_SECRET = "cluster-webhook-secret"
WEBHOOK_LEASE_S = 6
PER_CLIENT = 3
LEASE_TTL_S = 6


def require_parts() -> None:
    missing = [name for name in ("redis-server", "haproxy") if shutil.which(name) is None]
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        missing.append("postgresql")
    if missing:
        pytest.fail(f"the cluster tests need {', '.join(missing)} (run `make cluster-test`, which installs them)")


@pytest.fixture(scope="package")
def hooks() -> Iterator[Receiver]:
    """The webhook receiver every node posts a pad's end to; tests/cluster/test_webhooks.py holds one request open
    there while it kills the node that sent it."""
    with receiver(hold_first=True) as state:
        yield state


@pytest.fixture(scope="package")  # stopped after the last cluster test, before the engine-restart tests
def cluster(hooks: Receiver) -> Iterator[LocalCluster]:
    require_docker()
    require_parts()
    # Not under pytest's own temporary folder: PostgreSQL runs as its own user, which must reach its data.
    root = Path(tempfile.mkdtemp(prefix="padbox-cluster-"))
    os.chmod(root, 0o755)
    layout = Layout(
        str(root),
        port=0,  # every part on a port the kernel chose, held until the part has it (LocalCluster.hold_ports)
        instance_prefix=f"pytest-{os.getpid()}",
        env={
            "PADBOX_TOKENS": ",".join(TOKENS),
            "PADBOX_MAX_SESSIONS_PER_CLIENT": str(PER_CLIENT),
            "PADBOX_SESSIONS_PER_MINUTE": "1000",
            "PADBOX_LEASE_TTL_S": str(LEASE_TTL_S),
            "PADBOX_POOL_SIZE": "1",
            "PADBOX_MAX_SESSIONS": "8",
            "PADBOX_DRAIN_S": "20",
            "PADBOX_WEBHOOK_URL": hooks.url,
            "PADBOX_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PADBOX_WEBHOOK_LEASE_S": str(WEBHOOK_LEASE_S),
            "PADBOX_WEBHOOK_TIMEOUT_S": "4",
            "PADBOX_WEBHOOK_BACKOFF_S": "1",
        },
    )
    local = LocalCluster(layout)
    local.up()
    try:
        yield local
    finally:
        local.down()
        shutil.rmtree(root, ignore_errors=True)


def ws_front(cluster: LocalCluster, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{cluster.layout.front_port}{path}"


def ws_node(cluster: LocalCluster, node: str, path: str = "/ws") -> str:
    return f"ws://127.0.0.1:{cluster.layout.node_port(node)}{path}"
