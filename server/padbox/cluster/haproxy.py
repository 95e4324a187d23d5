"""HAProxy's configuration for a padbox cluster (Debian's haproxy 2.6), made from the list of nodes.

- New runs (`/ws` with a `run`, the execute APIs, everything else) go to the node with the fewest connections
  (`leastconn`) among those whose agent check says `ready up`: a node at capacity or draining says `drain`.
- A join names its run, and the run names its owner (`<node>.<random>`): `/ws/runs/<run id>`, or `/ws?run=<run
  id>`, goes to that node with `use-server`, drained or not. When the owner is down HAProxy ignores the rule and
  any live node takes the join, finds the owner gone and answers `run_lost` (padbox.web.relay).
- A pad's requests (`/ws/pads/<id>...`, `/api/v1/pads/<id>...`, `/p/<id>`) go to the pad's home node, chosen by
  consistent hashing of the pad id: when that node goes down only its pads move, and they move together.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from padbox.core.cluster import check_node_id


@dataclass(frozen=True)
class Node:
    id: str
    address: str  # host:port of its HTTP/WebSocket listener
    agent: str  # host:port of its agent check


@dataclass(frozen=True)
class Front:
    bind: str  # host:port clients connect to
    stats_socket: str | None = None  # a Unix socket for `show stat` (tests, the bench, operators)
    check_interval_ms: int = 1000
    fall: int = 2  # failed checks before a node is down: with the interval, how soon a dead node stops getting work
    maxconn: int | None = None  # None: HAProxy derives it from the file-descriptor limit (ulimit -n)


def render(front: Front, nodes: Sequence[Node]) -> str:
    """The whole haproxy.cfg."""
    for node in nodes:
        check_node_id(node.id)
    inter = front.check_interval_ms
    stats = f"    stats socket {front.stats_socket} mode 600 level admin\n" if front.stats_socket else ""
    lines = [
        "# Made by padbox.cluster.haproxy: regenerate rather than edit (python -m padbox.cluster.haproxy --help).",
        "global",
        f"    maxconn {front.maxconn}" if front.maxconn else None,
        stats.rstrip("\n") if stats else None,
        "",
        "defaults",
        "    mode http",
        "    option forwardfor  # the client's address, for per-client caps (uvicorn trusts it from the proxy)",
        "    option redispatch 1  # a node that refuses the connection: the next try goes to another",
        "    retries 2",
        "    timeout connect 2s",
        "    timeout http-request 10s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout tunnel 1h  # a WebSocket lives as long as its run (at most PADBOX_MAX_RUN_TIMEOUT_S)",
        "    timeout client-fin 5s",
        "",
        "frontend padbox",
        f"    bind {front.bind}",
        "    # A run's id, from /ws/runs/<run id> or ?run=<run id>, and its owner: the id's part before the dot.",
        "    http-request set-var(txn.run) path,field(4,/) if { path_beg /ws/runs/ }",
        "    http-request set-var(txn.run) url_param(run) if !{ var(txn.run) -m found } { url_param(run) -m found }",
        "    http-request set-var(txn.owner) var(txn.run),field(1,.) if { var(txn.run) -m found }",
        "    # A pad's id, wherever its path carries it.",
        "    http-request set-var(txn.pad) path,field(4,/) if { path_beg /ws/pads/ }",
        "    http-request set-var(txn.pad) path,field(5,/) if { path_beg /api/v1/pads/ }",
        "    http-request set-var(txn.pad) path,field(3,/) if { path_beg /p/ }",
        "    use_backend pads if { var(txn.pad) -m len 1: }",
        "    default_backend nodes",
        "",
        "backend nodes",
        "    balance leastconn",
        "    option httpchk GET /healthz",
        "    http-check expect status 200",
    ]
    lines += [f"    use-server {n.id} if {{ var(txn.owner) -m str {n.id} }}" for n in nodes]
    lines += [_server(n, inter, front.fall, agent=True) for n in nodes]
    lines += [
        "",
        "backend pads",
        "    balance hash var(txn.pad)",
        "    hash-type consistent",
        "    option httpchk GET /healthz",
        "    http-check expect status 200",
    ]
    lines += [_server(n, inter, front.fall, agent=False) for n in nodes]
    return "\n".join(line for line in lines if line is not None) + "\n"


def _server(node: Node, inter: int, fall: int, agent: bool) -> str:
    host, _, port = node.agent.rpartition(":")
    check = f"check inter {inter} fall {fall} rise 2"
    if agent:  # only new runs follow the agent's `drain`; a pad stays home while its node has room or not
        check += f" agent-check agent-addr {host} agent-port {port} agent-inter {inter}"
    return f"    server {node.id} {node.address} {check} weight 100"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print haproxy.cfg for padbox nodes.")
    parser.add_argument("--bind", default="0.0.0.0:80")
    parser.add_argument("--stats-socket")
    parser.add_argument(
        "node", nargs="+", help="id=host:port,agent-host:agent-port (e.g. n1=10.0.0.1:8000,10.0.0.1:8001)"
    )
    args = parser.parse_args(argv)
    nodes = []
    for spec in args.node:
        node_id, _, rest = spec.partition("=")
        address, _, agent = rest.partition(",")
        nodes.append(Node(node_id, address, agent))
    print(render(Front(args.bind, args.stats_socket), nodes), end="")


if __name__ == "__main__":
    main()
