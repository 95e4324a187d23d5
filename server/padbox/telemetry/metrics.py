"""Prometheus metrics at GET /metrics: sessions by language and outcome, load, stage durations,
time to first output, and sandbox failures.

A SessionObserver for what sessions report, plus gauges that read the admission queue and the warm
pool when scraped. Each server has its own registry, so nothing leaks between apps in one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from padbox.core.capacity import Capacity
from padbox.core.events import AnyEvent, Error, Exited, Output, Started
from padbox.core.pool import WarmPool
from padbox.core.protocol import ErrorCode
from padbox.core.session import Session
from padbox.telemetry.session_log import elapsed_ms, outcome

STAGE_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)
FIRST_OUTPUT_BUCKETS_S = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30)

# The `_created` series double every counter's lines, and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """Every padbox metric, in one registry."""

    def __init__(
        self, capacity: Capacity, pool: WarmPool | None, isolation: Callable[[], str] = lambda: "container"
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sessions_started = Counter(
            "padbox_sessions_started", "Sessions that got a sandbox and began.", ["language"], registry=r
        )
        self.sessions_finished = Counter(
            "padbox_sessions_finished",
            "Sessions that ended, by outcome: a verdict, an error code (busy, internal, ...) or abandoned.",
            ["language", "verdict"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "padbox_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, failed (retried later), gave_up.",
            ["outcome"],
            registry=r,
        )
        for result in ("delivered", "failed", "gave_up"):  # every series exists from the start, at 0
            self.webhook_deliveries.labels(result)
        self.stage_seconds = Histogram(
            "padbox_stage_duration_seconds",
            "Wall-clock time of a compile or run stage.",
            ["language", "stage"],
            buckets=STAGE_BUCKETS_S,
            registry=r,
        )
        self.first_output_seconds = Histogram(
            "padbox_time_to_first_output_seconds",
            "From a run's request (queueing included) to its first output.",
            ["language"],
            buckets=FIRST_OUTPUT_BUCKETS_S,
            registry=r,
        )
        self.docker_errors = Counter(
            "padbox_docker_errors", "Sessions ended because Docker or the sandbox failed.", registry=r
        )
        Gauge("padbox_sessions_running", "Sessions holding a slot now.", registry=r).set_function(
            lambda: capacity.running
        )
        Gauge("padbox_sessions_limit", "Sessions that may run at once (PADBOX_MAX_SESSIONS).", registry=r).set_function(
            lambda: capacity.limit
        )
        Gauge("padbox_queue_length", "Sessions waiting for a slot.", registry=r).set_function(
            lambda: capacity.queue_length
        )
        Gauge("padbox_pool_ready", "Warm sandboxes ready to be handed out.", registry=r).set_function(
            lambda: pool.ready if pool else 0
        )
        Gauge("padbox_pool_size", "Sandboxes the warm pool holds: ready and starting.", registry=r).set_function(
            lambda: pool.size if pool else 0
        )
        Gauge(
            "padbox_pool_target",
            "Warm sandboxes the pool aims to hold now: arrival rate x start time, within its floor, ceiling, "
            "free slots and memory budget.",
            registry=r,
        ).set_function(lambda: pool.target if pool else 0)
        Gauge(
            "padbox_pool_fill_concurrency",
            "Sandboxes the pool may start at once (what the engine sustains).",
            registry=r,
        ).set_function(lambda: pool.sizing.concurrency if pool else 0)
        if pool is not None:
            r.register(PoolCounters(pool))
        r.register(IsolationMode(isolation))
        Gauge(
            "padbox_asyncio_tasks",
            "Tasks alive in the server's event loop (a leak shows as steady growth).",
            registry=r,
        ).set_function(_asyncio_tasks)
        self._awaiting_output: set[Session] = set()

    # --- SessionObserver --------------------------------------------------------------------
    def event(self, session: Session, event: AnyEvent) -> None:
        language = session.plan.language.id
        if isinstance(event, Started):
            self.sessions_started.labels(language).inc()
            self._awaiting_output.add(session)
        elif isinstance(event, Output) and session in self._awaiting_output:
            self._awaiting_output.discard(session)
            self.first_output_seconds.labels(language).observe(elapsed_ms(session) / 1000)
        elif isinstance(event, Exited):
            self.stage_seconds.labels(language, event.stage.value).observe(event.wall_ms / 1000)
        elif isinstance(event, Error) and event.code in (ErrorCode.INTERNAL, ErrorCode.SANDBOX_LOST):
            self.docker_errors.inc()

    def finished(self, session: Session) -> None:
        self._awaiting_output.discard(session)
        self.sessions_finished.labels(session.plan.language.id, outcome(session)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    @property
    def content_type(self) -> str:
        return str(CONTENT_TYPE_LATEST)


class PoolCounters(Collector):
    """The pool's hits and misses, read from the pool when scraped (the pool counts; telemetry only reads)."""

    def __init__(self, pool: WarmPool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("padbox_pool_hits", "Runs that found a warm sandbox ready.", value=self.pool.hits)
        yield CounterMetricFamily(
            "padbox_pool_misses",
            "Runs that found none ready (they waited for the next one) or whose limits no warm sandbox can take.",
            value=self.pool.misses,
        )
        yield CounterMetricFamily(
            "padbox_pool_renewed",
            "Containers given a fresh per-run sandbox after a run and handed out again (namespace mode).",
            value=self.pool.renewed,
        )


class IsolationMode(Collector):
    """How runs are kept apart now (`namespace` or `container`): 1 for the mode in force, read when scraped."""

    def __init__(self, isolation: Callable[[], str]) -> None:
        self.isolation = isolation

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "padbox_isolation", "The isolation mode in force (1) and the other (0).", labels=["mode"]
        )
        current = self.isolation()
        for mode in ("namespace", "container"):
            family.add_metric([mode], 1 if mode == current else 0)
        yield family


def _asyncio_tasks() -> int:
    """The event loop's live tasks, counted at scrape time (the scrape runs in the loop); 0 outside one."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return 0
