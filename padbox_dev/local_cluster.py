"""The local cluster for development and tests (`make cluster`, `make cluster-down`, tests/cluster, the bench):
Redis, PostgreSQL, HAProxy and N padbox nodes on this machine, from Debian's packages and this checkout.

Every part runs as its own process on its own loopback port, with its state under one directory
(PADBOX_CLUSTER_DIR, default .cluster/); nothing is installed as a system service and nothing is left running
by `down`. The nodes share the local Docker engine, each with its own instance and node label.

Every port is bound by `up` before any part starts and held until its part has it, so no other process can take
it in between: the nodes (HTTP and agent check) and HAProxy are started with the listening socket itself
(PADBOX_LISTEN_FD, PADBOX_AGENT_FD, HAProxy's `bind fd@N`); Redis and PostgreSQL, which cannot take a socket,
get their port released just before they start.

    python -m padbox_dev.local_cluster up [--nodes 3] [--port 8100]
    python -m padbox_dev.local_cluster down
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from padbox.cluster import keys
from padbox.cluster.haproxy import Front, Node, render

STATE = "state.json"
START_TIMEOUT_S = 90.0


@dataclass
class Layout:
    """Where everything listens: the front on `port`, node i on port+i, its agent on port+10+i, Redis on port+20,
    PostgreSQL on port+21; with `port` 0, each on a port the kernel chose (the tests). `ports` holds the ports
    taken, by part: "front", "redis", "postgres", each node's id and "<node id>-agent"."""

    root: str
    port: int = 8100
    nodes: int = 3
    instance_prefix: str = "cluster"
    env: dict[str, str] = field(default_factory=dict)  # extra settings for every node
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def wanted_ports(self) -> dict[str, int]:
        """Each part's port as asked for (0: any)."""
        offsets = {"front": 0, "redis": 20, "postgres": 21}
        for node in self.node_ids():
            offsets[node], offsets[f"{node}-agent"] = int(node[1:]), 10 + int(node[1:])
        return {name: self.port + offset if self.port else 0 for name, offset in offsets.items()}

    @property
    def front_port(self) -> int:
        return self.ports["front"]

    @property
    def front_url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def redis_port(self) -> int:
        return self.ports["redis"]

    @property
    def postgres_port(self) -> int:
        return self.ports["postgres"]

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://padbox:padbox@127.0.0.1:{self.postgres_port}/padbox"

    @property
    def stats_socket(self) -> str:
        return str(Path(self.root) / "haproxy.sock")

    def node_ids(self) -> list[str]:
        return [f"n{i}" for i in range(1, self.nodes + 1)]

    def node_port(self, node: str) -> int:
        return self.ports[node]

    def agent_port(self, node: str) -> int:
        return self.ports[f"{node}-agent"]

    def node_url(self, node: str) -> str:
        return f"http://127.0.0.1:{self.node_port(node)}"

    def instance(self, node: str) -> str:
        return f"{self.instance_prefix}-{node}"

    def save(self) -> None:
        Path(self.root, STATE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, root: str) -> Layout:
        return cls(**json.loads(Path(root, STATE).read_text()))


class LocalCluster:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.root = Path(layout.root)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}  # the ones this process started, to reap them
        self.held: dict[str, socket.socket] = {}  # ports bound by `hold_ports` that no part has yet, by part

    # --- the ports -----------------------------------------------------------------------------------------
    def hold_ports(self) -> None:
        """Bind every part's port now, before anything starts, and keep it until its part has it."""
        for name, wanted in self.layout.wanted_ports().items():
            # Redis and PostgreSQL bind the port themselves: held bound, not listening, it refuses until then.
            self.held[name] = bind_port(wanted, name, listen=name not in ("redis", "postgres"))
            self.layout.ports[name] = self.held[name].getsockname()[1]
        self.layout.save()

    def take_port(self, name: str) -> socket.socket:
        """The listening socket a part is started with: the one held since `hold_ports`, or, for a part started
        again, its port bound anew. The caller closes this process's copy once the part has it: a copy kept here
        would go on accepting (into a backlog nobody reads) after the part dies, instead of refusing."""
        held = self.held.pop(name, None)
        return held if held is not None else bind_port(self.layout.ports[name], name, listen=True)

    def release_port(self, name: str) -> None:
        """Free a part's held port for a program that can only bind it itself (Redis, PostgreSQL). Another process
        could take the port between this and that program's bind: the one window that cannot be closed."""
        held = self.held.pop(name, None)
        if held is not None:
            held.close()

    # --- the parts -----------------------------------------------------------------------------------------
    def _spawn(
        self, name: str, argv: list[str], env: Mapping[str, str] | None = None, pass_fds: tuple[int, ...] = ()
    ) -> int:
        with (self.root / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                pass_fds=pass_fds,
            )
        self.processes[process.pid] = process
        self.layout.pids[name] = process.pid
        self.layout.save()
        return process.pid

    def start_redis(self) -> None:
        port = self.layout.redis_port
        # Nothing in Redis must survive a restart (docs/cluster.md): no snapshots, no append-only file.
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.release_port("redis")  # Redis cannot take an inherited socket: see release_port
        self._spawn("redis", argv + ["--dir", str(self.root)])
        wait_for_port(port, "redis")

    def stop_redis(self, sig: int = signal.SIGTERM) -> None:
        self._stop("redis", sig)

    def start_postgres(self) -> None:
        """PostgreSQL 15 with a `padbox` database (pads in cluster mode), run as the postgres user when root."""
        bindir = postgres_bindir()
        data = self.root / "postgres"
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            if as_postgres:
                shutil.chown(data, "postgres", "postgres")
                os.chmod(self.root, 0o755)
            pwfile = self.root / "pgpass"
            pwfile.write_text("padbox\n")
            if as_postgres:
                shutil.chown(pwfile, "postgres", "postgres")
            run([*as_postgres, f"{bindir}/initdb", "-D", str(data), "-U", "padbox", "--pwfile", str(pwfile), "-A",
                 "scram-sha-256", "--auth-local", "trust"])  # fmt: skip
        options = f"-p {self.layout.postgres_port} -k {data} -c listen_addresses=127.0.0.1"
        log = str(data / "server.log")
        self.release_port("postgres")  # PostgreSQL cannot take an inherited socket: see release_port
        run([*as_postgres, f"{bindir}/pg_ctl", "-D", str(data), "-l", log, "-o", options, "-w", "start"])
        created = subprocess.run(
            [
                *as_postgres,
                f"{bindir}/createdb",
                "-h",
                str(data),
                "-p",
                str(self.layout.postgres_port),
                "-U",
                "padbox",
                "padbox",
            ],  # fmt: skip
            capture_output=True,
            text=True,
        )
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise RuntimeError(f"createdb failed: {created.stderr}")

    def stop_postgres(self) -> None:
        data = self.root / "postgres"
        if not (data / "postmaster.pid").exists():
            return
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_postgres, f"{postgres_bindir()}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
        )

    def node_env(self, node: str) -> dict[str, str]:
        layout = self.layout
        return {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(layout.node_port(node)),
            "PADBOX_NODE_ID": node,
            "PADBOX_INSTANCE": layout.instance(node),
            "PADBOX_REDIS_URL": layout.redis_url,
            "PADBOX_DATABASE_URL": layout.database_url,
            "PADBOX_DATA_DIR": str(self.root / f"data-{node}"),
            "PADBOX_AGENT_PORT": str(layout.agent_port(node)),
            "PADBOX_DRAIN_S": "30",
            **layout.env,
        }

    def start_node(self, node: str) -> None:
        """Start a node (again) on its ports, served from sockets bound here and handed over."""
        with self.take_port(node) as http, self.take_port(f"{node}-agent") as agent:  # closed here once passed
            fds = {"PADBOX_LISTEN_FD": str(http.fileno()), "PADBOX_AGENT_FD": str(agent.fileno())}
            env = {**self.node_env(node), **fds}
            self._spawn(node, [sys.executable, "-m", "padbox"], env, pass_fds=(http.fileno(), agent.fileno()))

    def wait_for_node(self, node: str, timeout: float = START_TIMEOUT_S) -> None:
        url = f"{self.layout.node_url(node)}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive(node):
                raise RuntimeError(f"node {node} exited at start-up:\n{self.log(node)[-3000:]}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"node {node} was not ready within {timeout:.0f} s:\n{self.log(node)[-3000:]}")

    def stop_node(self, node: str, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        self._stop(node, sig, timeout)

    def start_haproxy(self) -> None:
        layout = self.layout
        nodes = [
            Node(n, f"127.0.0.1:{layout.node_port(n)}", f"127.0.0.1:{layout.agent_port(n)}") for n in layout.node_ids()
        ]
        config = self.root / "haproxy.cfg"
        with self.take_port("front") as front:  # HAProxy serves this very socket (`bind fd@N`); closed here after
            config.write_text(render(Front(f"fd@{front.fileno()}", layout.stats_socket), nodes))
            run(["haproxy", "-c", "-q", "-f", str(config)], pass_fds=(front.fileno(),))
            self._spawn("haproxy", ["haproxy", "-Ws", "-f", str(config)], pass_fds=(front.fileno(),))
        wait_for_port(layout.front_port, "haproxy")

    # --- processes -----------------------------------------------------------------------------------------
    def alive(self, name: str) -> bool:
        pid = self.layout.pids.get(name)
        if pid is None:
            return False
        if pid in self.processes:
            return self.processes[pid].poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "Z"
        return state != "Z"

    def _stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        pid = self.layout.pids.get(name)
        if pid is None:
            return
        if self.alive(name):
            os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while self.alive(name) and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.alive(name):
                os.kill(pid, signal.SIGKILL)
                while self.alive(name):
                    time.sleep(0.05)
        self.layout.pids.pop(name, None)
        self.layout.save()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- the whole -----------------------------------------------------------------------------------------
    def up(self, postgres: bool = True) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.layout.save()
        try:
            self.hold_ports()
            self.start_redis()
            if postgres:
                self.start_postgres()
            for node in self.layout.node_ids():
                self.start_node(node)
            for node in self.layout.node_ids():
                self.wait_for_node(node)
            self.start_haproxy()
            self.wait_until_registered(self.layout.node_ids())
        except BaseException:
            self.down()
            raise

    def wait_until_registered(self, nodes: list[str], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                listed = {n["id"] for n in self.cluster()["nodes"]}
                if set(nodes) <= listed:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"nodes {nodes} did not all register within {timeout:.0f} s")

    def cluster(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.layout.front_url}/api/v1/cluster", timeout=5).raise_for_status().json())

    def down(self) -> None:
        for node in self.layout.node_ids():
            self.stop_node(node)
        self.remove_leftovers()
        self._stop("haproxy")
        self.stop_redis()
        self.stop_postgres()
        for name in list(self.held):  # a start that failed part-way
            self.release_port(name)

    def remove_leftovers(self) -> None:
        """Remove the containers of nodes that could not remove their own: a node killed with -9 and not started
        again (a node that starts removes its leftovers itself, by its instance and node labels)."""
        for node in self.layout.node_ids():
            label = f"label=padbox.instance={self.layout.instance(node)}"
            found = subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True)
            leftovers = found.stdout.split()
            if leftovers:
                subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)

    def pad_home(self, pad_id: str) -> str:
        """The node holding a pad's room (its claim in Redis); empty when no node has it open."""
        client = redis.Redis.from_url(self.layout.redis_url, decode_responses=True)
        try:
            return str(client.get(keys.pad(pad_id)) or "")
        finally:
            client.close()

    def haproxy_states(self) -> dict[str, str]:
        """Each node's status in the `nodes` backend as HAProxy sees it (UP, DOWN, DRAIN...)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(self.layout.stats_socket)
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "nodes" and row.get("svname") not in ("FRONTEND", "BACKEND"):
                states[row["svname"]] = row["status"]
        return states


def postgres_bindir() -> str:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (deploy/cluster/ensure-packages.sh installs it)")
    return str(found[-1].parent)


def run(argv: list[str], pass_fds: tuple[int, ...] = ()) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, pass_fds=pass_fds)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")


def bind_port(port: int, name: str, listen: bool) -> socket.socket:
    """A loopback socket bound to `port` (0: one the kernel chooses), listening when asked. SO_REUSEADDR: a part
    started again gets its port back although the last one's connections linger in TIME_WAIT."""
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        if listen:
            sock.listen(128)
    except OSError as error:
        sock.close()
        raise RuntimeError(f"cannot take port {port} for {name}: {error}") from error
    return sock


def wait_for_port(port: int, name: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The local padbox cluster.")
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--dir", default=os.environ.get("PADBOX_CLUSTER_DIR", ".cluster"))
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PADBOX_CLUSTER_PORT", "8100")))
    args = parser.parse_args(argv)
    root = str(Path(args.dir).resolve())
    if args.command == "up":
        if Path(root, STATE).exists() and any(LocalCluster(Layout.load(root)).alive(n) for n in Layout.load(root).pids):
            sys.exit(f"a local cluster is already running from {root}: `make cluster-down` first")
        cluster = LocalCluster(Layout(root, args.port, args.nodes))
        cluster.up()
        nodes = ", ".join(cluster.layout.node_ids())
        print(f"padbox cluster: {cluster.layout.front_url}  (nodes {nodes}; logs in {root})")
    elif not Path(root, STATE).exists():
        print(f"no local cluster in {root}")
    elif args.command == "down":
        LocalCluster(Layout.load(root)).down()
        print("padbox cluster stopped")
    else:
        cluster = LocalCluster(Layout.load(root))
        print(json.dumps({"pids": cluster.layout.pids, "haproxy": cluster.haproxy_states()}, indent=2))


if __name__ == "__main__":
    main()
