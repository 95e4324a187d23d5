"""A pad's webhook across the cluster: the node delivering it is killed (SIGKILL) while the receiver holds its
request open; once its lease expires another node claims the outbox row in PostgreSQL and delivers the same report
with the same delivery id, and the receiver drops the repeat by that id."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from padbox.webhooks.signing import Verifier
from padbox_dev.local_cluster import LocalCluster
from tests.cluster.conftest import WEBHOOK_LEASE_S, WEBHOOK_SECRET, ws_front
from tests.cluster.test_pads import home_of, restart
from tests.eventually import eventually
from tests.pads_client import Events, http
from tests.webhook_receiver import Receiver

AUTH = {"Authorization": "Bearer webhooks"}


async def test_a_delivery_survives_its_node_killed_mid_request_and_any_repeat_has_the_same_id(
    cluster: LocalCluster, hooks: Receiver
) -> None:
    front = cluster.layout.front_url
    status, pad = http("POST", f"{front}/api/v1/pads", {"language": "python", "title": "Cluster hook"}, AUTH)
    assert status == 201, pad
    owner = f"{front}/api/v1/pads/{pad['id']}"
    # An events socket holds the pad's room open on its home, so the home is the node that ends it (and, woken by
    # that end, the one that delivers first).
    watcher = await Events.connect(ws_front(cluster, ""), pad["id"], pad["keys"]["owner"], headers=AUTH)
    await watcher.next_of("pad")
    home = await home_of(cluster, pad["id"])
    already = len(hooks.received)
    hooks.hold_matching = pad["id"].encode()
    status, ended = http("POST", f"{owner}/end?key={pad['keys']['owner']}", {}, AUTH)
    assert status == 200, ended

    def ours() -> list[Any]:
        return [r for r in hooks.received[already:] if json.loads(r.body)["report"]["pad"]["id"] == pad["id"]]

    await eventually(lambda: ours(), 20, "the first attempt reached the receiver (and is held open)")
    engine = create_async_engine(cluster.layout.database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.text("SELECT delivery_id, leased_by FROM pad_webhooks WHERE pad_id = :pad"), {"pad": pad["id"]}
                )
            ).one()
    finally:
        await engine.dispose()
    delivery_id, leased_by = row
    sender = leased_by.split(":", 1)[0]
    assert sender in cluster.layout.node_ids()
    print(f"pad home {home}; delivering node {sender}")  # the same but for a rare race with another node's poll
    killed_at = time.monotonic()
    cluster.stop_node(sender, signal.SIGKILL)
    try:
        await eventually(lambda: len(ours()) >= 2, WEBHOOK_LEASE_S + 20, "the delivery made again by another node")
        print(f"delivered again {time.monotonic() - killed_at:.1f} s after kill -9 of the delivering node")
        first, second = ours()[:2]
        assert first.headers["Padbox-Delivery"] == second.headers["Padbox-Delivery"] == delivery_id
        assert first.body == second.body
        verifier = Verifier(WEBHOOK_SECRET)
        assert verifier.verify(first.headers, first.body) is True
        assert verifier.verify(second.headers, second.body) is False, "the repeat is known by its delivery id"
        report = json.loads(second.body)["report"]
        assert report["pad"]["ended_at"] == ended["ended_at"]
    finally:
        assert hooks.hold_first is not None
        hooks.hold_first.set()
        await watcher.close()
        await asyncio.to_thread(restart, cluster, sender)
    # Delivered: no node sends it again (a third arrival would be a duplicate in the normal case).
    engine = create_async_engine(cluster.layout.database_url)
    try:
        async with engine.connect() as connection:
            delivered = await connection.scalar(
                sa.text("SELECT delivered_at FROM pad_webhooks WHERE delivery_id = :id"), {"id": delivery_id}
            )
    finally:
        await engine.dispose()
    assert delivered is not None
    assert len(ours()) == 2


async def test_with_every_node_delivering_a_pads_end_is_posted_exactly_once(
    cluster: LocalCluster, hooks: Receiver
) -> None:
    front = cluster.layout.front_url
    ended = []
    for title in ("Once", "Marker"):
        status, pad = http("POST", f"{front}/api/v1/pads", {"language": "python", "title": title}, AUTH)
        assert status == 201, pad
        status, _ = http("POST", f"{front}/api/v1/pads/{pad['id']}/end?key={pad['keys']['owner']}", {}, AUTH)
        assert status == 200
        ended.append(pad["id"])

    def arrivals(pad_id: str) -> list[Any]:
        return [r for r in hooks.received if json.loads(r.body)["report"]["pad"]["id"] == pad_id]

    await eventually(lambda: all(arrivals(pad_id) for pad_id in ended), 20, "both ends delivered")
    engine = create_async_engine(cluster.layout.database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.text("SELECT pad_id, attempts, delivered_at FROM pad_webhooks WHERE pad_id IN (:a, :b)"),
                    {"a": ended[0], "b": ended[1]},
                )
            ).all()
    finally:
        await engine.dispose()
    assert sorted((pad_id, attempts) for pad_id, attempts, _ in rows) == sorted((p, 1) for p in ended)
    assert all(delivered is not None for _, _, delivered in rows)
    # Delivered rows are never claimed again: three nodes polling, one arrival each.
    assert [len(arrivals(pad_id)) for pad_id in ended] == [1, 1]
