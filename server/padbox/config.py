"""Every setting padbox reads, in one table: environment variable, default, meaning.

The README's configuration reference is generated from SETTINGS (`python -m padbox.config`),
so the documentation cannot drift from what the code reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from padbox.core.access import load_tokens
from padbox.core.limits import LimitPolicy, Limits

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("HOST", "127.0.0.1", "Address the server listens on."),
    Setting("PORT", "8000", "Port the server listens on."),
    Setting("PADBOX_IMAGE", "padbox-runner:latest", "Runner image every sandbox is created from."),
    Setting("PADBOX_RUNTIME", "", "Docker runtime for sandboxes (empty: the engine's default; `runsc` for gVisor)."),
    Setting("PADBOX_INSTANCE", "default", "Name of this server; at start-up it reaps only its own leftovers."),
    Setting("PADBOX_MANIFEST", str(REPO_ROOT / "runner-image" / "languages.toml"), "Language manifest file."),
    Setting("PADBOX_MAX_SESSIONS", "16", "Sessions running at once; more wait in a FIFO queue."),
    Setting("PADBOX_QUEUE_LIMIT", "64", "Sessions that may wait for a slot; past this new ones get `busy`."),
    Setting("PADBOX_POOL_SIZE", "2", "Sandboxes started ahead of time (0: none); counted in PADBOX_MAX_SESSIONS."),
    Setting("PADBOX_TOKENS", "", "Comma-separated API tokens; when set, /ws and the execute endpoints require one."),
    Setting("PADBOX_TOKENS_FILE", "", "A file of API tokens, one per line (added to PADBOX_TOKENS)."),
    Setting("PADBOX_ALLOWED_ORIGINS", "", "Browser origins allowed to open /ws besides the server's own (`*`: any)."),
    Setting("PADBOX_MAX_SESSIONS_PER_CLIENT", "8", "Sessions one client (token, else IP address) may run at once."),
    Setting("PADBOX_SESSIONS_PER_MINUTE", "120", "New sessions one client may start per minute."),
    Setting("PADBOX_SHARE_GRACE_S", "10", "After a shared run's last driver leaves, seconds before it is killed."),
    Setting("PADBOX_SHARE_MAX_PARTICIPANTS", "16", "People (drivers and viewers) one run may have."),
    Setting("PADBOX_SHARE_REPLAY_KB", "256", "Output a joiner's snapshot replays; older output is counted, not kept."),
    Setting("PADBOX_FIRST_MESSAGE_TIMEOUT_S", "10", "Seconds a new socket has to send its `run` message."),
    Setting("PADBOX_MAX_MESSAGE_KB", "1024", "Largest client message or HTTP request body (larger: WebSocket close "
            "1009, HTTP 413)."),
    Setting("PADBOX_SANDBOX_START_TIMEOUT_S", "20", "Seconds a new sandbox has to report ready."),
    Setting("PADBOX_PING_INTERVAL_S", "2", "While a program runs silently, seconds between the server's liveness pings "
            "to its sandbox's agent (output counts as an answer: a printing program is never pinged)."),
    Setting("PADBOX_PING_TIMEOUT_S", "10", "Seconds without any word from a running sandbox's agent before the sandbox "
            "counts as lost (`sandbox_lost`) and is removed; more than PADBOX_PING_INTERVAL_S."),
    Setting("PADBOX_SHUTDOWN_GRACE_S", "5", "Seconds running sessions get to clean up on SIGTERM."),
    Setting("PADBOX_LOG_CONTENT", "0", "`1`: session log lines carry source code, stdin and output (debugging only: "
            "they may hold secrets)."),
    Setting("PADBOX_CPUS", "1", "CPU cores one sandbox may use."),
    Setting("PADBOX_WORKDIR_MB", "64", "Work directory (tmpfs) size, also /tmp and /dev/shm; at most 1/4 of memory."),
    Setting("PADBOX_NOFILE", "256", "Open files per sandbox process (ulimit nofile)."),
    Setting("PADBOX_FSIZE_MB", "32", "Largest file a sandbox process may write (ulimit fsize)."),
    Setting("PADBOX_DEFAULT_COMPILE_TIMEOUT_S", "15", "Default wall-clock limit of the compile stage."),
    Setting("PADBOX_MAX_COMPILE_TIMEOUT_S", "60", "Largest compile wall-clock limit a client may ask for."),
    Setting("PADBOX_DEFAULT_RUN_TIMEOUT_S", "30", "Default wall-clock limit of the run stage."),
    Setting("PADBOX_MAX_RUN_TIMEOUT_S", "900", "Largest run wall-clock limit a client may ask for."),
    Setting("PADBOX_DEFAULT_CPU_TIME_S", "10", "Default CPU-time limit of each stage."),
    Setting("PADBOX_MAX_CPU_TIME_S", "60", "Largest CPU-time limit a client may ask for."),
    Setting("PADBOX_DEFAULT_MEMORY_MB", "256", "Default memory limit of a sandbox (swap is not allowed)."),
    Setting("PADBOX_MAX_MEMORY_MB", "1024", "Largest memory limit a client may ask for."),
    Setting("PADBOX_DEFAULT_PIDS", "128", "Default process/thread limit of a sandbox."),
    Setting("PADBOX_MAX_PIDS", "512", "Largest process limit a client may ask for."),
    Setting("PADBOX_DEFAULT_OUTPUT_KB", "1024", "Default cap on output relayed per run (compile and run together)."),
    Setting("PADBOX_MAX_OUTPUT_KB", "65536", "Largest output cap a client may ask for."),
)

_DEFAULTS = {s.env: s.default for s in SETTINGS}


class ConfigError(ValueError):
    """A setting that cannot be parsed: the server refuses to start with a clear message."""


def _read(env: Mapping[str, str], name: str) -> str:
    return env.get(name, _DEFAULTS[name])


def _number(env: Mapping[str, str], name: str, kind: type[int] | type[float]) -> float:
    raw = _read(env, name)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = _read(env, name).strip().lower()
    if raw not in ("0", "1", "true", "false", "yes", "no", "on", "off", ""):
        raise ConfigError(f"{name}={raw!r} must be 1 or 0")
    return raw in ("1", "true", "yes", "on")


def _count(env: Mapping[str, str], name: str) -> int:
    """A whole number that may be zero."""
    raw = _read(env, name)
    if not raw.isdigit():
        raise ConfigError(f"{name}={raw!r} must be a whole number (0 or more)")
    return int(raw)


def _limits(env: Mapping[str, str], prefix: str) -> Limits:
    values: dict[str, float] = {}
    for f in fields(Limits):
        kind = int if f.type in ("int", int) else float
        values[f.name] = _number(env, f"PADBOX_{prefix}_{f.name.upper()}", kind)
    return Limits(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    image: str
    runtime: str
    instance: str
    manifest: Path
    max_sessions: int
    queue_limit: int
    pool_size: int
    tokens: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    max_sessions_per_client: int
    sessions_per_minute: int
    share_grace_s: float
    share_max_participants: int
    share_replay_bytes: int
    first_message_timeout_s: float
    max_message_bytes: int
    sandbox_start_timeout_s: float
    ping_interval_s: float
    ping_timeout_s: float
    shutdown_grace_s: float
    log_content: bool
    cpus: float
    workdir_mb: int
    nofile: int
    fsize_mb: int
    limits: LimitPolicy

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        policy = LimitPolicy(defaults=_limits(env, "DEFAULT"), maxima=_limits(env, "MAX"))
        policy.check()
        ping_interval_s = _number(env, "PADBOX_PING_INTERVAL_S", float)
        ping_timeout_s = _number(env, "PADBOX_PING_TIMEOUT_S", float)
        if ping_timeout_s <= ping_interval_s:
            raise ConfigError(f"PADBOX_PING_TIMEOUT_S={ping_timeout_s:g} must be more than "
                              f"PADBOX_PING_INTERVAL_S={ping_interval_s:g}: a sandbox is pinged before it is lost")
        return cls(
            host=_read(env, "HOST"),
            port=int(_number(env, "PORT", int)),
            image=_read(env, "PADBOX_IMAGE"),
            runtime=_read(env, "PADBOX_RUNTIME"),
            instance=_read(env, "PADBOX_INSTANCE"),
            manifest=Path(_read(env, "PADBOX_MANIFEST")),
            max_sessions=int(_number(env, "PADBOX_MAX_SESSIONS", int)),
            queue_limit=int(_number(env, "PADBOX_QUEUE_LIMIT", int)),
            pool_size=_count(env, "PADBOX_POOL_SIZE"),
            tokens=load_tokens(_read(env, "PADBOX_TOKENS"), _read(env, "PADBOX_TOKENS_FILE")),
            allowed_origins=tuple(o.strip().rstrip("/") for o in _read(env, "PADBOX_ALLOWED_ORIGINS").split(",")
                                  if o.strip()),
            max_sessions_per_client=int(_number(env, "PADBOX_MAX_SESSIONS_PER_CLIENT", int)),
            sessions_per_minute=int(_number(env, "PADBOX_SESSIONS_PER_MINUTE", int)),
            share_grace_s=_number(env, "PADBOX_SHARE_GRACE_S", float),
            share_max_participants=int(_number(env, "PADBOX_SHARE_MAX_PARTICIPANTS", int)),
            share_replay_bytes=int(_number(env, "PADBOX_SHARE_REPLAY_KB", int)) * 1024,
            first_message_timeout_s=_number(env, "PADBOX_FIRST_MESSAGE_TIMEOUT_S", float),
            max_message_bytes=int(_number(env, "PADBOX_MAX_MESSAGE_KB", int)) * 1024,
            sandbox_start_timeout_s=_number(env, "PADBOX_SANDBOX_START_TIMEOUT_S", float),
            ping_interval_s=ping_interval_s,
            ping_timeout_s=ping_timeout_s,
            shutdown_grace_s=_number(env, "PADBOX_SHUTDOWN_GRACE_S", float),
            log_content=_flag(env, "PADBOX_LOG_CONTENT"),
            cpus=_number(env, "PADBOX_CPUS", float),
            workdir_mb=int(_number(env, "PADBOX_WORKDIR_MB", int)),
            nofile=int(_number(env, "PADBOX_NOFILE", int)),
            fsize_mb=int(_number(env, "PADBOX_FSIZE_MB", int)),
            limits=policy,
        )


def markdown_table() -> str:
    """The README's configuration reference."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = s.default.replace(str(REPO_ROOT) + "/", "") or "(empty)"
        rows.append(f"| `{s.env}` | `{default}` | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
