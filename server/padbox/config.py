"""Every setting padbox reads, written once: each field of `Settings` names its environment variable(s),
default and meaning, and how the text becomes a value.

`Settings.from_env` parses from those fields, and the README's configuration reference
(`python -m padbox.config`) and `padbox serve --help` list them, so none can drift from what the code reads.
"""

from __future__ import annotations

import math
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from padbox.core.access import load_tokens
from padbox.core.cluster import check_node_id
from padbox.core.limits import LimitPolicy, Limits

# The language manifest ships inside the package (pyproject's package-data), so an installed wheel finds it
# without a checkout. In the source tree padbox/languages.toml is a link to runner-image/languages.toml: the
# image is built from that folder, and one file serves both. padbox runs from files on disk (a wheel or an
# editable install, never a zip), so the resource is a real path.
SHIPPED_MANIFEST = Path(str(resources.files("padbox").joinpath("languages.toml")))


class ConfigError(ValueError):
    """A setting that cannot be parsed: the server refuses to start with a clear message."""


Parse = Callable[[str, str], Any]
"""Turns one variable's text into its value: (variable name, text) -> value, or ConfigError naming both."""


def text(name: str, raw: str) -> str:
    return raw


def whole(name: str, raw: str) -> int:
    """A positive whole number."""
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value


def count(name: str, raw: str) -> int:
    """A whole number that may be zero."""
    if not raw.strip().isdigit():
        raise ConfigError(f"{name}={raw!r} must be a whole number (0 or more)")
    return int(raw)


def number(name: str, raw: str) -> float:
    """A positive number (fractions allowed)."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={raw!r} must be a positive number")
    return value


def kilobytes(name: str, raw: str) -> int:
    """A size given in KiB, as bytes."""
    return whole(name, raw) * 1024


def port_number(name: str, raw: str) -> int:
    value = whole(name, raw)
    if value > 65535:
        raise ConfigError(f"{name}={raw!r} is not a port number (1 to 65535)")
    return value


def descriptor(name: str, raw: str) -> int | None:
    """An inherited file descriptor's number; empty: none."""
    if not raw.strip():
        return None
    if not raw.strip().isdigit() or int(raw) < 3:
        raise ConfigError(f"{name}={raw!r} must be the number of an inherited descriptor (3 or more), or empty")
    return int(raw)


def flag(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word not in ("0", "1", "true", "false", "yes", "no", "on", "off", ""):
        raise ConfigError(f"{name}={raw!r} must be 1 or 0")
    return word in ("1", "true", "yes", "on")


def origins(name: str, raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def token_list(name: str, raw: str) -> tuple[str, ...]:
    return load_tokens(raw, "")


def data_directory(name: str, raw: str) -> Path:
    """Where pads are kept (empty: $XDG_DATA_HOME/padbox, else ~/.local/share/padbox); made when missing."""
    if raw:
        return Path(raw).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "padbox"


def seconds(name: str, raw: str) -> float:
    """A number of seconds that may be zero."""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}={raw!r} must be 0 or more")
    return value


ISOLATION_MODES = ("auto", "namespace", "container")


def isolation_mode(name: str, raw: str) -> str:
    if raw not in ISOLATION_MODES:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(ISOLATION_MODES)}")
    return raw


def node_id(name: str, raw: str) -> str:
    """A cluster node's id; by default the host name, made to fit."""
    value = raw or re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().lower()).strip("-")[:32] or "node"
    try:
        return check_node_id(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def manifest_file(name: str, raw: str) -> Path:
    path = Path(raw) if raw else SHIPPED_MANIFEST
    if not path.is_file():
        raise ConfigError(f"{name}={raw!r}: no such file {path}")
    return path


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (as text), what it means, and how it is parsed."""

    env: str
    default: str
    help: str
    parse: Parse = text

    def read(self, env: Mapping[str, str]) -> Any:
        return self.parse(self.env, env.get(self.env, self.default))


@dataclass(frozen=True)
class Source:
    """Where a Settings field comes from: one variable, or several that `combine` makes into one value
    (given each variable's parsed value by name)."""

    settings: tuple[Setting, ...]
    combine: Callable[[Mapping[str, Any]], Any] | None = None


def variable(env: str, default: str, help: str, parse: Parse = text) -> dict[str, Source]:
    """A field's metadata: it is one environment variable."""
    return {"source": Source((Setting(env, default, help, parse),))}


def variables(*settings: Setting, combine: Callable[[Mapping[str, Any]], Any]) -> dict[str, Source]:
    """A field's metadata: it is made from several environment variables."""
    return {"source": Source(settings, combine)}


def _tokens(values: Mapping[str, Any]) -> tuple[str, ...]:
    file = values["PADBOX_TOKENS_FILE"]
    try:
        return load_tokens(values["PADBOX_TOKENS"], file)
    except OSError as exc:
        raise ConfigError(f"PADBOX_TOKENS_FILE={file!r} cannot be read: {exc.strerror or exc}") from None


def _limit_policy(values: Mapping[str, Any]) -> LimitPolicy:
    """PADBOX_DEFAULT_<LIMIT> and PADBOX_MAX_<LIMIT> for every field of Limits."""
    names = [f.name for f in fields(Limits)]
    for name in names:
        default, maximum = f"PADBOX_DEFAULT_{name.upper()}", f"PADBOX_MAX_{name.upper()}"
        if values[default] > values[maximum]:
            raise ConfigError(f"{default}={values[default]} is above {maximum}={values[maximum]}")
    return LimitPolicy(
        defaults=Limits(**{name: values[f"PADBOX_DEFAULT_{name.upper()}"] for name in names}),
        maxima=Limits(**{name: values[f"PADBOX_MAX_{name.upper()}"] for name in names}),
    )


@dataclass(frozen=True)
class Settings:
    """What the server runs with, read from the environment once at start-up (`Settings.from_env`)."""

    host: str = field(metadata=variable("HOST", "127.0.0.1", "Address the server listens on."))
    port: int = field(metadata=variable("PORT", "8000", "Port the server listens on.", port_number))
    listen_fd: int | None = field(
        metadata=variable(
            "PADBOX_LISTEN_FD",
            "",
            "A listening socket inherited from whoever started the server, served instead of binding HOST:PORT "
            "(which should still name it); empty: none. The tests bind port 0 and hand the socket over.",
            descriptor,
        )
    )
    image: str = field(
        metadata=variable("PADBOX_IMAGE", "padbox-runner:latest", "Runner image every sandbox is created from.")
    )
    runtime: str = field(
        metadata=variable(
            "PADBOX_RUNTIME", "", "Docker runtime for sandboxes (empty: the engine's default; `runsc` for gVisor)."
        )
    )
    isolation: str = field(
        metadata=variable(
            "PADBOX_ISOLATION",
            "auto",
            "How runs are kept apart: `namespace` (warm containers host one run after another, each in a fresh "
            "sandbox of namespaces), `container` (a container per run), `auto` (namespace where the host allows "
            "it and the runtime is runc, else container).",
            isolation_mode,
        )
    )
    runs_per_container: int = field(
        metadata=variable(
            "PADBOX_RUNS_PER_CONTAINER",
            "100",
            "Namespace mode: runs one container hosts before it is replaced.",
            whole,
        )
    )
    container_max_age_s: float = field(
        metadata=variable(
            "PADBOX_CONTAINER_MAX_AGE_S",
            "600",
            "Namespace mode: seconds after which a container hosts no further run.",
            number,
        )
    )
    instance: str = field(
        metadata=variable(
            "PADBOX_INSTANCE", "default", "Name of this server; at start-up it reaps only its own leftovers."
        )
    )
    redis_url: str = field(
        metadata=variable(
            "PADBOX_REDIS_URL",
            "",
            "Cluster mode: the Redis all nodes share (redis://host:6379/0). Empty: a single server, needing no Redis.",
        )
    )
    node_id: str = field(
        metadata=variable(
            "PADBOX_NODE_ID",
            "",
            "Cluster mode: this node's stable id (lower-case letters, digits, dashes), the front of its run ids "
            "(empty: the host name).",
            node_id,
        )
    )
    advertise: str = field(
        metadata=variable(
            "PADBOX_ADVERTISE",
            "",
            "Cluster mode: host:port at which the other nodes reach this one (empty: HOST:PORT).",
        )
    )
    agent_port: int = field(
        metadata=variable(
            "PADBOX_AGENT_PORT",
            "0",
            "Port of HAProxy's agent check (`ready up N%`, or `drain` at capacity or shutting down); 0: none.",
            count,
        )
    )
    agent_fd: int | None = field(
        metadata=variable(
            "PADBOX_AGENT_FD",
            "",
            "A listening socket inherited for the agent check, served instead of binding HOST:PADBOX_AGENT_PORT "
            "(which should still name it); empty: none. The local cluster binds and holds it before the node starts.",
            descriptor,
        )
    )
    drain_s: float = field(
        metadata=variable(
            "PADBOX_DRAIN_S",
            "0",
            "On SIGTERM, seconds running sessions may go on to their end (no new runs) before they are stopped; "
            "a rolling restart drops no run that fits in it.",
            seconds,
        )
    )
    heartbeat_s: float = field(
        metadata=variable("PADBOX_HEARTBEAT_S", "1", "Cluster mode: seconds between a node's heartbeats.", number)
    )
    node_ttl_s: float = field(
        metadata=variable(
            "PADBOX_NODE_TTL_S",
            "3",
            "Cluster mode: a node missing its heartbeats this long is gone: joins of its runs get `run_lost`, "
            "its pads move.",
            number,
        )
    )
    lease_ttl_s: float = field(
        metadata=variable(
            "PADBOX_LEASE_TTL_S",
            "15",
            "Cluster mode: a dead node's sessions stop counting against their clients' caps after this long.",
            number,
        )
    )
    manifest: Path = field(
        metadata=variable(
            "PADBOX_MANIFEST",
            "",
            "Language manifest file (empty: the one shipped with padbox, runner-image/languages.toml).",
            manifest_file,
        )
    )
    max_sessions: int = field(
        metadata=variable("PADBOX_MAX_SESSIONS", "16", "Sessions running at once; more wait in a FIFO queue.", whole)
    )
    queue_limit: int = field(
        metadata=variable(
            "PADBOX_QUEUE_LIMIT", "64", "Sessions that may wait for a slot; past this new ones get `busy`.", whole
        )
    )
    pool_size: int = field(
        metadata=variable(
            "PADBOX_POOL_SIZE",
            "2",
            "Warm sandboxes kept while the server is idle: the pool's floor (0: no pool, every run starts its own "
            "sandbox); counted in PADBOX_MAX_SESSIONS.",
            count,
        )
    )
    pool_max: int = field(
        metadata=variable(
            "PADBOX_POOL_MAX",
            "8",
            "The most warm sandboxes the pool grows to under bursts (arrival rate x start time); at least "
            "PADBOX_POOL_SIZE, and never more than the free slots under PADBOX_MAX_SESSIONS.",
            count,
        )
    )
    pool_memory_mb: int = field(
        metadata=variable(
            "PADBOX_POOL_MEMORY_MB",
            "2048",
            "Memory budget of the warm pool: its sandboxes' memory limits (PADBOX_DEFAULT_MEMORY_MB each) never "
            "add up to more.",
            whole,
        )
    )
    pool_window_s: float = field(
        metadata=variable(
            "PADBOX_POOL_WINDOW_S",
            "30",
            "Seconds of arrivals the pool sizes itself from; after this long without a run it is back at "
            "PADBOX_POOL_SIZE.",
            number,
        )
    )
    pool_fill_concurrency: int = field(
        metadata=variable(
            "PADBOX_POOL_FILL_CONCURRENCY",
            "4",
            "The most sandboxes the pool starts at once; below this it starts as many as the engine sustains.",
            whole,
        )
    )
    tokens: tuple[str, ...] = field(
        metadata=variables(
            Setting(
                "PADBOX_TOKENS",
                "",
                "Comma-separated API tokens; when set, /ws and the execute endpoints require one.",
            ),
            Setting("PADBOX_TOKENS_FILE", "", "A file of API tokens, one per line (added to PADBOX_TOKENS)."),
            combine=_tokens,
        )
    )
    allowed_origins: tuple[str, ...] = field(
        metadata=variable(
            "PADBOX_ALLOWED_ORIGINS",
            "",
            "Browser origins allowed to open /ws besides the server's own (`*`: any).",
            origins,
        )
    )
    max_sessions_per_client: int = field(
        metadata=variable(
            "PADBOX_MAX_SESSIONS_PER_CLIENT",
            "8",
            "Sessions one client (token, else IP address) may run at once.",
            whole,
        )
    )
    sessions_per_minute: int = field(
        metadata=variable(
            "PADBOX_SESSIONS_PER_MINUTE",
            "120",
            "New sessions one client may start per minute; a pad's Run tests counts as one, whatever its number of "
            "cases.",
            whole,
        )
    )
    share_grace_s: float = field(
        metadata=variable(
            "PADBOX_SHARE_GRACE_S",
            "10",
            "After a shared run's last driver leaves, seconds before it is killed.",
            number,
        )
    )
    share_max_participants: int = field(
        metadata=variable(
            "PADBOX_SHARE_MAX_PARTICIPANTS", "16", "People (drivers and viewers) one run may have.", whole
        )
    )
    share_replay_bytes: int = field(
        metadata=variable(
            "PADBOX_SHARE_REPLAY_KB",
            "256",
            "Output a joiner's snapshot replays; older output is counted, not kept.",
            kilobytes,
        )
    )
    first_message_timeout_s: float = field(
        metadata=variable(
            "PADBOX_FIRST_MESSAGE_TIMEOUT_S", "10", "Seconds a new socket has to send its `run` message.", number
        )
    )
    max_message_bytes: int = field(
        metadata=variable(
            "PADBOX_MAX_MESSAGE_KB",
            "1024",
            "Largest client message or HTTP request body (larger: WebSocket close 1009, HTTP 413).",
            kilobytes,
        )
    )
    sandbox_start_timeout_s: float = field(
        metadata=variable("PADBOX_SANDBOX_START_TIMEOUT_S", "20", "Seconds a new sandbox has to report ready.", number)
    )
    ping_interval_s: float = field(
        metadata=variable(
            "PADBOX_PING_INTERVAL_S",
            "2",
            "While a program runs silently, seconds between the server's liveness pings to its sandbox's agent "
            "(output counts as an answer: a printing program is never pinged).",
            number,
        )
    )
    ping_timeout_s: float = field(
        metadata=variable(
            "PADBOX_PING_TIMEOUT_S",
            "10",
            "Seconds without any word from a running sandbox's agent before the sandbox counts as lost "
            "(`sandbox_lost`) and is removed; more than PADBOX_PING_INTERVAL_S.",
            number,
        )
    )
    shutdown_grace_s: float = field(
        metadata=variable(
            "PADBOX_SHUTDOWN_GRACE_S", "5", "Seconds running sessions get to clean up on SIGTERM.", number
        )
    )
    log_content: bool = field(
        metadata=variable(
            "PADBOX_LOG_CONTENT",
            "0",
            "`1`: session log lines carry source code, stdin and output (debugging only: they may hold secrets).",
            flag,
        )
    )
    cpus: float = field(metadata=variable("PADBOX_CPUS", "1", "CPU cores one sandbox may use.", number))
    workdir_mb: int = field(
        metadata=variable(
            "PADBOX_WORKDIR_MB",
            "64",
            "Work directory (tmpfs) size, also /tmp and /dev/shm; at most 1/4 of memory.",
            whole,
        )
    )
    nofile: int = field(
        metadata=variable("PADBOX_NOFILE", "256", "Open files per sandbox process (ulimit nofile).", whole)
    )
    fsize_mb: int = field(
        metadata=variable("PADBOX_FSIZE_MB", "32", "Largest file a sandbox process may write (ulimit fsize).", whole)
    )
    limits: LimitPolicy = field(
        metadata=variables(
            Setting("PADBOX_DEFAULT_COMPILE_TIMEOUT_S", "15", "Default wall-clock limit of the compile stage.", number),
            Setting(
                "PADBOX_MAX_COMPILE_TIMEOUT_S", "60", "Largest compile wall-clock limit a client may ask for.", number
            ),
            Setting("PADBOX_DEFAULT_RUN_TIMEOUT_S", "30", "Default wall-clock limit of the run stage.", number),
            Setting("PADBOX_MAX_RUN_TIMEOUT_S", "900", "Largest run wall-clock limit a client may ask for.", number),
            Setting("PADBOX_DEFAULT_CPU_TIME_S", "10", "Default CPU-time limit of each stage.", number),
            Setting("PADBOX_MAX_CPU_TIME_S", "60", "Largest CPU-time limit a client may ask for.", number),
            Setting(
                "PADBOX_DEFAULT_MEMORY_MB", "256", "Default memory limit of a sandbox (swap is not allowed).", whole
            ),
            Setting("PADBOX_MAX_MEMORY_MB", "1024", "Largest memory limit a client may ask for.", whole),
            Setting("PADBOX_DEFAULT_PIDS", "128", "Default process/thread limit of a sandbox.", whole),
            Setting("PADBOX_MAX_PIDS", "512", "Largest process limit a client may ask for.", whole),
            Setting(
                "PADBOX_DEFAULT_OUTPUT_KB",
                "1024",
                "Default cap on output relayed per run (compile and run together).",
                whole,
            ),
            Setting("PADBOX_MAX_OUTPUT_KB", "65536", "Largest output cap a client may ask for.", whole),
            combine=_limit_policy,
        )
    )

    data_dir: Path = field(
        metadata=variable(
            "PADBOX_DATA_DIR",
            "",
            "Directory of the pads' SQLite database (empty: $XDG_DATA_HOME/padbox or ~/.local/share/padbox).",
            data_directory,
        )
    )
    database_url: str = field(
        metadata=variable(
            "PADBOX_DATABASE_URL",
            "",
            "SQLAlchemy URL of the pads' database (empty: SQLite in PADBOX_DATA_DIR; "
            "`postgresql+asyncpg://user:pass@host/db` for PostgreSQL).",
        )
    )
    pad_max_bytes: int = field(
        metadata=variable(
            "PADBOX_PAD_MAX_KB",
            "512",
            "Largest pad document (its encoded Yjs state); larger edits are refused.",
            kilobytes,
        )
    )
    pad_max_participants: int = field(
        metadata=variable(
            "PADBOX_PAD_MAX_PARTICIPANTS", "32", "Editor sockets (all roles) one pad may have open at once.", whole
        )
    )
    pad_messages_per_s: float = field(
        metadata=variable(
            "PADBOX_PAD_MESSAGES_PER_S",
            "60",
            "Yjs messages (edits and cursor moves) one pad socket may send per second, with bursts of 4 s' worth.",
            number,
        )
    )
    pad_retention_days: float = field(
        metadata=variable(
            "PADBOX_PAD_RETENTION_DAYS",
            "30",
            "Days after its last activity a pad is purged with its history (checked at start-up and hourly).",
            number,
        )
    )
    pad_run_output_bytes: int = field(
        metadata=variable(
            "PADBOX_PAD_RUN_OUTPUT_KB", "64", "Output of each pad run kept in the pad's history.", kilobytes
        )
    )
    lsp_image: str = field(
        metadata=variable(
            "PADBOX_LSP_IMAGE",
            "padbox-lsp:latest",
            "Image of the pads' language servers (runner-image/lsp/; `make image` builds it).",
        )
    )
    lsp_runtime: str = field(
        metadata=variable(
            "PADBOX_LSP_RUNTIME",
            "",
            "Docker runtime of the language servers' sandboxes (empty: the engine's default, runc, whatever "
            "PADBOX_RUNTIME says: bookworm's runsc cannot start their threads; they run no program of the pad's).",
        )
    )
    lsp_max: int = field(
        metadata=variable(
            "PADBOX_LSP_MAX",
            "8",
            "Language-server sandboxes this node runs at once (one per pad with language help in use); past it, "
            "a pad's language help is `unavailable` and the pad works on without it (0: none on this node).",
            count,
        )
    )
    lsp_idle_s: float = field(
        metadata=variable(
            "PADBOX_LSP_IDLE_S",
            "120",
            "Seconds a pad's language server is kept after its last language-help socket closed.",
            number,
        )
    )
    lsp_memory_mb: int = field(
        metadata=variable(
            "PADBOX_LSP_MEMORY_MB",
            "768",
            "Memory limit of one language-server sandbox; a server past it is killed and restarted.",
            whole,
        )
    )
    lsp_deadline_s: float = field(
        metadata=variable(
            "PADBOX_LSP_DEADLINE_S",
            "20",
            "Seconds a language server may take to start or to answer a request before it is deemed hung and "
            "restarted.",
            number,
        )
    )
    admin_tokens: tuple[str, ...] = field(
        metadata=variable(
            "PADBOX_ADMIN_TOKENS",
            "",
            "Comma-separated operator tokens: they may write the question bank and read hidden test cases over "
            "HTTP (empty: those of PADBOX_TOKENS; with neither set, only `padbox questions import` writes).",
            token_list,
        )
    )
    tests_parallel: int = field(
        metadata=variable(
            "PADBOX_TESTS_PARALLEL",
            "4",
            "Cases of one Run tests that run at once (languages without a compile stage; a compiled one compiles "
            "once and runs its cases in turn); keep it under PADBOX_MAX_SESSIONS_PER_CLIENT.",
            count,
        )
    )

    @property
    def pads_database_url(self) -> str:
        """PADBOX_DATABASE_URL, else the SQLite file in PADBOX_DATA_DIR."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'pads.db'}"

    @property
    def clustered(self) -> bool:
        return bool(self.redis_url)

    @property
    def advertised(self) -> str:
        return self.advertise or f"{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables (the process's by default); a bad value is a ConfigError."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            source: Source = f.metadata["source"]
            parsed = {s.env: s.read(env) for s in source.settings}
            values[f.name] = source.combine(parsed) if source.combine else parsed[source.settings[0].env]
        settings = cls(**values)
        if settings.node_ttl_s <= settings.heartbeat_s:
            raise ConfigError(
                f"PADBOX_NODE_TTL_S={settings.node_ttl_s:g} must be more than PADBOX_HEARTBEAT_S="
                f"{settings.heartbeat_s:g}: a live node renews its record before it expires"
            )
        if settings.ping_timeout_s <= settings.ping_interval_s:
            raise ConfigError(
                f"PADBOX_PING_TIMEOUT_S={settings.ping_timeout_s:g} must be more than "
                f"PADBOX_PING_INTERVAL_S={settings.ping_interval_s:g}: a sandbox is pinged before it is lost"
            )
        return settings


SETTINGS: tuple[Setting, ...] = tuple(s for f in fields(Settings) for s in f.metadata["source"].settings)
"""Every environment variable padbox reads, in the order of Settings' fields."""


def markdown_table() -> str:
    """The README's configuration reference."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        rows.append(f"| `{s.env}` | `{s.default or '(empty)'}` | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
