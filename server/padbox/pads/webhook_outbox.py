"""The webhook outbox in the pads' database: what is owed, and who is delivering it.

A pad's end writes its row (store.PadStore.end, in the same transaction), so a delivery exists exactly when the pad
has ended. Every node's worker claims due rows with a lease: one conditional UPDATE (a row is claimed only if its
lease is free or expired), portable to SQLite and PostgreSQL, and atomic in both, so two nodes never hold one row at
once. A node that dies mid-delivery leaves its lease to expire; another node then claims the row and sends it again
with the same delivery id and the same body (frozen at the first attempt).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from padbox.pads.store import _storage
from padbox.pads.tables import webhooks


@dataclass(frozen=True)
class Claimed:
    delivery_id: str
    pad_id: str
    event: str
    created_at: float
    attempts: int
    body: bytes | None


class WebhookOutbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def _open(self, now: float) -> sa.ColumnElement[bool]:
        return sa.and_(
            webhooks.c.delivered_at.is_(None),
            webhooks.c.gave_up_at.is_(None),
            webhooks.c.due_at <= now,
            sa.or_(webhooks.c.lease_until.is_(None), webhooks.c.lease_until < now),
        )

    @_storage
    async def due(self, now: float, limit: int = 20) -> list[str]:
        """Deliveries anyone may claim now, oldest first."""
        query = sa.select(webhooks.c.delivery_id).where(self._open(now)).order_by(webhooks.c.due_at).limit(limit)
        async with self.engine.connect() as connection:
            return [str(found) for found in await connection.scalars(query)]

    @_storage
    async def claim(self, delivery_id: str, node: str, now: float, lease_s: float) -> Claimed | None:
        """The row, leased to `node` until now + lease_s; None when another node holds it or it is done."""
        async with self.engine.begin() as connection:
            taken = await connection.execute(
                webhooks.update()
                .where(webhooks.c.delivery_id == delivery_id, self._open(now))
                .values(lease_until=now + lease_s, leased_by=node)
            )
            if taken.rowcount != 1:
                return None
            row = (
                (await connection.execute(webhooks.select().where(webhooks.c.delivery_id == delivery_id)))
                .mappings()
                .one()
            )
        return Claimed(row["delivery_id"], row["pad_id"], row["event"], row["created_at"], row["attempts"], row["body"])

    @_storage
    async def freeze(self, delivery_id: str, body: bytes) -> bytes:
        """The body every attempt sends: `body` unless one was frozen already (then that one)."""
        async with self.engine.begin() as connection:
            await connection.execute(
                webhooks.update()
                .where(webhooks.c.delivery_id == delivery_id, webhooks.c.body.is_(None))
                .values(body=body)
            )
            frozen = await connection.scalar(sa.select(webhooks.c.body).where(webhooks.c.delivery_id == delivery_id))
        return bytes(frozen) if frozen is not None else body

    @_storage
    async def delivered(self, delivery_id: str, at: float, attempts: int) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                webhooks.update()
                .where(webhooks.c.delivery_id == delivery_id)
                .values(delivered_at=at, attempts=attempts, lease_until=None, last_error=None)
            )

    @_storage
    async def failed(self, delivery_id: str, attempts: int, error: str, retry_at: float | None, at: float) -> None:
        """An attempt failed: retried at `retry_at`, or given up (None)."""
        values: dict[str, object] = {"attempts": attempts, "last_error": error[:2000], "lease_until": None}
        values.update({"due_at": retry_at} if retry_at is not None else {"gave_up_at": at})
        async with self.engine.begin() as connection:
            await connection.execute(webhooks.update().where(webhooks.c.delivery_id == delivery_id).values(**values))

    @_storage
    async def release(self, delivery_id: str, node: str) -> None:
        """A node stopping mid-delivery lets another take the row at once (the receiver may see it twice: same id)."""
        async with self.engine.begin() as connection:
            await connection.execute(
                webhooks.update()
                .where(webhooks.c.delivery_id == delivery_id, webhooks.c.leased_by == node)
                .values(lease_until=None)
            )

    @_storage
    async def pending(self) -> int:
        """Deliveries neither made nor given up (a gauge in /metrics)."""
        query = sa.select(sa.func.count()).where(webhooks.c.delivered_at.is_(None), webhooks.c.gave_up_at.is_(None))
        async with self.engine.connect() as connection:
            return int(await connection.scalar(query) or 0)
