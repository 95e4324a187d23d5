"""The delivery worker: on every node, it claims the outbox's due rows (pads/webhook_outbox.py) and POSTs each
pad's report, signed, to PADBOX_WEBHOOK_URL; failed attempts are retried with exponential backoff until
PADBOX_WEBHOOK_RETRY_FOR_S after the pad ended, then given up. Every attempt is logged and counted in /metrics.

Exactly once in the normal case: the row is claimed by one node (a lease), marked delivered on a 2xx, and never
claimed again. At least once when a node dies mid-delivery: its lease expires and another node sends the same
body with the same `Padbox-Delivery` id, which is what a receiver drops a repeat by.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import httpx
import msgspec

from padbox.pads.messages import Report, WebhookBody
from padbox.pads.store import StorageFailed
from padbox.pads.webhook_outbox import Claimed, WebhookOutbox
from padbox.telemetry.metrics import Metrics
from padbox.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature

log = logging.getLogger("padbox.webhooks")

MAX_BACKOFF_S = 3600.0
ReportOf = Callable[[str], Awaitable[Report | None]]


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: str
    timeout_s: float
    retry_for_s: float
    backoff_s: float
    lease_s: float
    poll_s: float


def retry_at(settings: WebhookSettings, created_at: float, attempts: int, now: float) -> float | None:
    """When the next attempt goes after `attempts` failed ones: backoff doubling from `backoff_s` (at most an hour),
    and one last attempt at the deadline; None once the deadline has passed (given up)."""
    deadline = created_at + settings.retry_for_s
    if now >= deadline:
        return None
    delay: float = min(MAX_BACKOFF_S, settings.backoff_s * 2.0 ** max(0, attempts - 1))
    return min(now + delay, deadline)


class DeliveryWorker:
    """One node's deliveries; `wake` is set when this node ends a pad, so its own ends go out at once."""

    def __init__(
        self,
        outbox: WebhookOutbox,
        report_of: ReportOf,
        settings: WebhookSettings,
        node: str,
        wake: asyncio.Event,
        metrics: Metrics,
    ) -> None:
        self.outbox = outbox
        self.report_of = report_of
        self.settings = settings
        self.node = node
        self.wake = wake
        self.metrics = metrics
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._current: str | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.settings.timeout_s, follow_redirects=False)
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="webhook-deliveries")

    async def stop(self) -> None:
        """Stop delivering; a delivery cut short is released, so another node (or this one, restarted) sends it."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._current is not None:
            with suppress(StorageFailed):
                await self.outbox.release(self._current, self.node)
        if self._client is not None:
            await self._client.aclose()

    async def _loop(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except StorageFailed as exc:  # the database is away: try again next round
                log.warning("webhook outbox unreadable: %s", exc)
            except Exception:  # a bug must not end the worker: the row's lease expires, and it is tried again
                log.exception("webhook delivery failed unexpectedly")
            with suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_s):
                    await self.wake.wait()
            self.wake.clear()

    async def deliver_due(self) -> int:
        """Claim and send every delivery due now; how many were attempted."""
        attempted = 0
        for delivery_id in await self.outbox.due(time.time()):
            claimed = await self.outbox.claim(delivery_id, self.node, time.time(), self.settings.lease_s)
            if claimed is None:
                continue  # another node took it
            self._current = delivery_id
            try:
                await self._attempt(claimed)
            finally:
                self._current = None
            attempted += 1
        return attempted

    async def _attempt(self, claimed: Claimed) -> None:
        attempts = claimed.attempts + 1
        body = claimed.body
        if body is None:
            report = await self.report_of(claimed.pad_id)
            if report is None:
                await self.outbox.failed(claimed.delivery_id, attempts, "the pad was purged", None, time.time())
                self.metrics.webhook_deliveries.labels("gave_up").inc()
                return
            made = msgspec.json.encode(WebhookBody("pad.ended", claimed.delivery_id, report))
            body = await self.outbox.freeze(claimed.delivery_id, made)
        problem = await self._post(claimed, body)
        now = time.time()
        if problem is None:
            await self.outbox.delivered(claimed.delivery_id, now, attempts)
            self.metrics.webhook_deliveries.labels("delivered").inc()
            log.info("webhook %s for pad %s delivered (attempt %d)", claimed.delivery_id, claimed.pad_id, attempts)
            return
        again = retry_at(self.settings, claimed.created_at, attempts, now)
        await self.outbox.failed(claimed.delivery_id, attempts, problem, again, now)
        if again is None:
            self.metrics.webhook_deliveries.labels("gave_up").inc()
            log.error(
                "webhook %s for pad %s given up after %d attempts: %s",
                claimed.delivery_id,
                claimed.pad_id,
                attempts,
                problem,
            )
        else:
            self.metrics.webhook_deliveries.labels("failed").inc()
            log.warning(
                "webhook %s for pad %s failed (attempt %d, next in %.0f s): %s",
                claimed.delivery_id,
                claimed.pad_id,
                attempts,
                again - now,
                problem,
            )

    async def _post(self, claimed: Claimed, body: bytes) -> str | None:
        """One attempt; None when the receiver answered 2xx, else what went wrong."""
        assert self._client is not None
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.settings.secret, int(time.time()), body),
            DELIVERY_HEADER: claimed.delivery_id,
            EVENT_HEADER: claimed.event,
            "User-Agent": "padbox-webhook/1",
        }
        try:
            # httpx's timeout bounds each read and write; this bounds the whole attempt, so a receiver trickling its
            # answer cannot hold a delivery past its lease (another node would then send it a second time).
            async with asyncio.timeout(self.settings.timeout_s):
                answer = await self._client.post(self.settings.url, content=body, headers=headers)
        except TimeoutError:
            return f"no answer within {self.settings.timeout_s:g} s"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= answer.status_code < 300:
            return None
        return f"HTTP {answer.status_code}"
