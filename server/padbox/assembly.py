"""The composition root: settings in, a Runner with every part plugged in out.

The only module that names the concrete parts (the Docker backend, the metrics, the session log),
so the core and the transports depend on interfaces, and a test can assemble a Runner of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from padbox.backends.docker import DockerBackend
from padbox.cluster.service import ClusterService, RunnerRef, cluster_service, member_for, pad_homes_for
from padbox.config import Settings
from padbox.core.access import AccessPolicy, ClientCaps, ClientLimiter
from padbox.core.capacity import Capacity
from padbox.core.languages import Catalogue
from padbox.core.pool import WarmPool
from padbox.core.pool_sizing import PoolBounds, PoolSizing
from padbox.core.runner import DoorSettings, Runner
from padbox.core.sandbox import SandboxBackend
from padbox.core.session import SessionObserver
from padbox.core.sharing import ShareRegistry
from padbox.pads.model import PadLimits
from padbox.pads.service import Pads, PadSettings
from padbox.pads.store import PadStore
from padbox.telemetry.metrics import Metrics
from padbox.telemetry.session_log import SessionLog


@dataclass(frozen=True)
class Assembly:
    """What the web app mounts: the runner for every transport, the pads, and the metrics for /metrics."""

    settings: Settings
    runner: Runner
    metrics: Metrics
    pads: Pads
    cluster: ClusterService | None = None  # cluster mode (PADBOX_REDIS_URL): started and stopped with the app


def pool_sizing(settings: Settings) -> PoolSizing:
    bounds = PoolBounds(
        floor=settings.pool_size,
        ceiling=max(settings.pool_size, settings.pool_max),
        window_s=settings.pool_window_s,
        memory_budget_mb=settings.pool_memory_mb,
        sandbox_memory_mb=settings.limits.defaults.memory_mb,
        max_concurrency=settings.pool_fill_concurrency,
    )
    return PoolSizing(bounds, time.monotonic)


def assemble(settings: Settings, backend: SandboxBackend | None = None) -> Assembly:
    """Every part from the settings; `backend` replaces Docker (the unit tests pass an in-memory one)."""
    backend = DockerBackend(settings) if backend is None else backend
    capacity = Capacity(settings.max_sessions, settings.queue_limit)
    node = settings.node_id if settings.clustered else ""
    pool = (
        WarmPool(backend, capacity, settings.limits.defaults, pool_sizing(settings), node)
        if settings.pool_size
        else None
    )
    metrics = Metrics(capacity, pool, lambda: backend.isolation)
    observers: tuple[SessionObserver, ...] = (metrics, SessionLog(settings.log_content))
    limiter: ClientCaps = ClientLimiter(settings.max_sessions_per_client, settings.sessions_per_minute)
    ref, member = RunnerRef(), None
    if settings.clustered:
        # One member plays three parts: caps held cluster-wide, the run directory (an observer), and membership.
        member = member_for(settings, ref)
        limiter, observers = member, (*observers, member)
    runner = Runner(
        catalogue=Catalogue.load(settings.manifest),
        policy=settings.limits,
        backend=backend,
        capacity=capacity,
        pool=pool,
        access=AccessPolicy(settings.tokens, settings.allowed_origins),
        limiter=limiter,
        shares=ShareRegistry(settings.share_max_participants, settings.share_grace_s, settings.share_replay_bytes),
        door=DoorSettings(settings.first_message_timeout_s, settings.max_message_bytes),
        observers=observers,
        membership=member,
    )
    limits = PadLimits(
        max_bytes=settings.pad_max_bytes,
        max_participants=settings.pad_max_participants,
        messages_per_s=settings.pad_messages_per_s,
    )
    homes = pad_homes_for(settings, member) if member is not None else None
    pads = Pads(
        PadStore(settings.pads_database_url),
        runner,
        PadSettings(limits, settings.pad_retention_days, settings.pad_run_output_bytes),
        homes,
    )
    ref.runner = runner
    service = cluster_service(settings, member, homes, ref) if member is not None and homes is not None else None
    return Assembly(settings, runner, metrics, pads, service)
