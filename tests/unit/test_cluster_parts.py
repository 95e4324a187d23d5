"""The cluster's pure parts: run ids that name their owner, the agent check's answer, HAProxy's configuration."""

from __future__ import annotations

import asyncio
import socket

import pytest

from padbox.cluster.agent import AgentCheck, NodeState, agent_reply
from padbox.cluster.haproxy import Front, Node, render
from padbox.config import ConfigError, Settings
from padbox.core.cluster import owner_of, run_id_for
from padbox.core.pool import new_session_id


def test_a_run_id_names_its_owner_and_a_single_servers_names_none() -> None:
    assert owner_of(run_id_for("n1", "abc")) == "n1"
    assert owner_of(new_session_id("node-7")) == "node-7"
    assert owner_of(new_session_id()) is None
    for foreign in ("", ".abc", "n1.", "N1.abc", "n_1.abc", "a" * 33 + ".x"):
        assert owner_of(foreign) is None, foreign


def test_a_node_id_must_fit_a_run_id_a_label_and_a_server_name() -> None:
    assert Settings.from_env({"PADBOX_NODE_ID": "edge-3"}).node_id == "edge-3"
    for bad in ("Edge", "a.b", "a b", "-a"):
        with pytest.raises(ConfigError):
            Settings.from_env({"PADBOX_NODE_ID": bad})
    with pytest.raises(ConfigError, match="PADBOX_NODE_TTL_S"):
        Settings.from_env({"PADBOX_HEARTBEAT_S": "3", "PADBOX_NODE_TTL_S": "2"})


def state(**changes: object) -> NodeState:
    values: dict[str, object] = dict(prepared=True, draining=False, sessions=1, queue=0, limit=4, pool=2)
    values.update(changes)
    return NodeState(**values)  # type: ignore[arg-type]


def test_the_agent_says_drain_at_capacity_or_when_shutting_down_and_down_when_it_cannot_run() -> None:
    assert agent_reply(state()) == "ready up 75%\n"
    assert agent_reply(state(sessions=4)) == "drain\n"
    assert agent_reply(state(queue=1)) == "drain\n"
    assert agent_reply(state(draining=True)) == "drain\n"
    assert agent_reply(state(prepared=False)) == "down\n"


def test_haproxy_routes_new_runs_by_load_joins_by_owner_and_pads_by_hash() -> None:
    nodes = [Node(f"n{i}", f"10.0.0.{i}:8000", f"10.0.0.{i}:8001") for i in (1, 2)]
    config = render(Front("0.0.0.0:80", "/run/haproxy.sock"), nodes)
    nodes_backend, pads_backend = config.split("\nbackend nodes")[1].split("\nbackend pads")
    assert "balance leastconn" in nodes_backend
    assert "use-server n2 if { var(txn.owner) -m str n2 }" in nodes_backend
    assert "agent-check agent-addr 10.0.0.2 agent-port 8001" in nodes_backend
    assert "balance hash var(txn.pad)" in pads_backend and "hash-type consistent" in pads_backend
    assert "agent-check" not in pads_backend  # a pad stays home while its node is full
    assert "stats socket /run/haproxy.sock" in config
    with pytest.raises(ValueError):
        render(Front("0.0.0.0:80"), [Node("bad.id", "a:1", "a:2")])


async def test_the_agent_check_serves_the_socket_it_was_handed() -> None:
    state = NodeState(prepared=True, draining=False, sessions=0, queue=0, limit=4, pool=1)
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    agent = AgentCheck("127.0.0.1", port, lambda: state, held)
    await agent.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.readline() == b"ready up 100%\n"
        writer.close()
    finally:
        await agent.stop()
