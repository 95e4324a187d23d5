"""The composition root: settings in, a Node with every part plugged in out.

The only module that names the concrete parts (the Docker backend, the metrics, the session log, Redis), so the
core, the pads and the transports depend on interfaces, and a test can assemble a node of its own. The parts are
made in the order they use each other, so none is filled in after the fact: the node's lifecycle and capacity,
then (in a cluster) the member that reports them, then the door, the runner, the pads, the question bank, the
node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from padbox.backends.docker import DockerBackend
from padbox.backends.lsp_docker import DockerLanguageServers
from padbox.cluster.member import RedisMember
from padbox.cluster.service import cluster_service, member_for, pad_homes_for, state_report
from padbox.config import Settings
from padbox.core.access import AccessPolicy, ClientCaps, ClientLimiter
from padbox.core.capacity import Capacity
from padbox.core.door import Door, DoorSettings, Lifecycle
from padbox.core.languages import Catalogue
from padbox.core.pool import WarmPool
from padbox.core.pool_sizing import PoolBounds, PoolSizing
from padbox.core.runner import Runner
from padbox.core.sandbox import SandboxBackend
from padbox.core.session import SessionObserver
from padbox.core.sharing import ShareRegistry
from padbox.lsp.manager import LanguageHelp
from padbox.lsp.session import HelpSettings
from padbox.node import Node, Shutdown
from padbox.pads.model import PadLimits
from padbox.pads.service import Pads, PadSettings
from padbox.pads.store import PadStore
from padbox.questions.service import QuestionService
from padbox.questions.store import QuestionStore
from padbox.telemetry.metrics import Metrics
from padbox.telemetry.session_log import SessionLog
from padbox.web.served import Served

AGENT_SETTLE_S = 2.5


@dataclass(frozen=True)
class Assembly:
    """The node (what starts and stops) and what the web app serves over it."""

    settings: Settings
    node: Node
    served: Served

    @property
    def runner(self) -> Runner:
        return self.node.runner

    @property
    def pads(self) -> Pads:
        return self.node.pads

    @property
    def metrics(self) -> Metrics:
        return self.served.metrics


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


def shutdown(settings: Settings) -> Shutdown:
    # With an agent check, HAProxy needs a few of its checks (1 s apart in deploy/) to hear `drain` before new
    # runs stop coming; until then they are still served here.
    settle = AGENT_SETTLE_S if settings.agent_port else 0
    return Shutdown(settings.shutdown_grace_s, settings.drain_s, settle)


def language_help(settings: Settings, backend: SandboxBackend, pads: Pads, door: Door) -> LanguageHelp:
    """Language servers in Docker beside the runs' sandboxes (on the same client); with another backend (the unit
    tests' in-memory one) language help is `unavailable`."""
    launcher = DockerLanguageServers(backend, settings) if isinstance(backend, DockerBackend) else None

    def language_name(language: str) -> str:
        found = door.catalogue.languages.get(language)
        return found.name if found is not None else language

    help_settings = HelpSettings(settings.lsp_idle_s, settings.lsp_deadline_s)
    return LanguageHelp(pads, launcher, settings.lsp_max, help_settings, language_name)


def assemble(settings: Settings, backend: SandboxBackend | None = None) -> Assembly:
    """Every part from the settings; `backend` replaces Docker (the unit tests pass an in-memory one)."""
    backend = DockerBackend(settings) if backend is None else backend
    lifecycle = Lifecycle()
    capacity = Capacity(settings.max_sessions, settings.queue_limit)
    node_id = settings.node_id if settings.clustered else ""
    pool = (
        WarmPool(backend, capacity, settings.limits.defaults, pool_sizing(settings), node_id)
        if settings.pool_size
        else None
    )
    metrics = Metrics(capacity, pool, lambda: backend.isolation)
    observers: tuple[SessionObserver, ...] = (metrics, SessionLog(settings.log_content))
    limiter: ClientCaps = ClientLimiter(settings.max_sessions_per_client, settings.sessions_per_minute)
    state = state_report(lifecycle, capacity, pool)
    member: RedisMember | None = None
    if settings.clustered:
        # One member plays three parts: caps held cluster-wide, the run directory (an observer), and membership.
        member = member_for(settings, state)
        limiter, observers = member, (*observers, member)
    door = Door(
        AccessPolicy(settings.tokens, settings.allowed_origins),
        DoorSettings(settings.first_message_timeout_s, settings.max_message_bytes),
        Catalogue.load(settings.manifest),
        lifecycle,
        member,
    )
    runner = Runner(
        policy=settings.limits,
        backend=backend,
        capacity=capacity,
        pool=pool,
        limiter=limiter,
        shares=ShareRegistry(settings.share_max_participants, settings.share_grace_s, settings.share_replay_bytes),
        door=door,
        lifecycle=lifecycle,
        observers=observers,
    )
    limits = PadLimits(
        max_bytes=settings.pad_max_bytes,
        max_participants=settings.pad_max_participants,
        messages_per_s=settings.pad_messages_per_s,
    )
    homes = pad_homes_for(settings, member) if member is not None else None
    store = PadStore(settings.pads_database_url)
    pad_settings = PadSettings(limits, settings.pad_retention_days, settings.pad_run_output_bytes)
    pads = Pads(store, runner, door, pad_settings, homes)
    # A test run's cases at once stay within the client's own running cap, so a test run never refuses itself.
    parallel = min(settings.tests_parallel, settings.max_sessions_per_client)
    operators = settings.admin_tokens or settings.tokens
    questions = QuestionService(QuestionStore(store.engine), runner, door, pads, operators, parallel)
    cluster = cluster_service(settings, member, homes, state) if member is not None and homes is not None else None
    help = language_help(settings, backend, pads, door)
    node = Node(store, runner, pads, questions, cluster, shutdown(settings), help)
    served = Served(runner, door, settings.limits, metrics, settings.image, node.readiness, pads, questions, help)
    return Assembly(settings, node, served)
