"""The Node owns the order of the server's life: it starts the store, the runner, the pads, the question bank,
then cluster membership, and leaves and stops in the reverse sense (hand off, drain, pads, runner, question bank,
membership)."""

from __future__ import annotations

from typing import Any

from padbox.core.runner import Readiness
from padbox.node import Node, Shutdown


class Part:
    """A stand-in for any of the node's parts: every call it gets is written to the shared log."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def __getattr__(self, verb: str) -> Any:
        async def call(*args: object) -> Any:
            self.log.append(f"{self.name}.{verb}")
            if verb == "drain":
                return 0
            if verb == "readiness":
                return Readiness(True, True, True, False)
            return None

        return call


def node(log: list[str], drain_s: float = 0, webhooks: bool = False) -> Node:
    names = ("store", "runner", "pads", "questions", "cluster", "deliveries")
    parts: Any = {name: Part(name, log) for name in names}
    return Node(
        parts["store"],
        parts["runner"],
        parts["pads"],
        parts["questions"],
        parts["cluster"],
        Shutdown(5, drain_s),
        parts["deliveries"] if webhooks else None,
    )


async def test_the_node_starts_each_part_after_what_it_uses() -> None:
    log: list[str] = []
    await node(log).start()
    assert log == ["store.open", "runner.start_up", "pads.start_up", "questions.start", "cluster.start"]


async def test_webhook_deliveries_start_after_the_question_bank_and_stop_first() -> None:
    """They read reports from the pads and the bank, and a delivery cut short is released before the store closes."""
    log: list[str] = []
    it = node(log, webhooks=True)
    await it.start()
    assert log == [
        "store.open",
        "runner.start_up",
        "pads.start_up",
        "questions.start",
        "deliveries.start",
        "cluster.start",
    ]
    log.clear()
    await it.stop()
    assert log[0] == "deliveries.stop" and log[-2:] == ["store.close", "runner.close"]


async def test_a_signal_hands_off_drains_then_ends_the_sessions_and_the_app_stop_closes_the_rest() -> None:
    log: list[str] = []
    it = node(log, drain_s=30)
    await it.leave()
    await it.leave()  # a second call does nothing more
    assert log == ["pads.hand_off", "runner.drain", "pads.shut_down", "runner.shut_down"]
    log.clear()
    await it.stop()
    assert log == [
        "pads.shut_down",
        "runner.shut_down",
        "questions.stop",
        "pads.close",
        "cluster.stop",
        "store.close",
        "runner.close",
    ]


async def test_without_a_drain_time_leaving_ends_the_sessions_at_once() -> None:
    log: list[str] = []
    await node(log).leave()
    assert "runner.drain" not in log and log[-2:] == ["pads.shut_down", "runner.shut_down"]


async def test_a_failed_hand_off_still_drains_and_ends_the_sessions() -> None:
    log: list[str] = []
    it = node(log, drain_s=30)

    async def fails() -> None:
        log.append("pads.hand_off")
        raise OSError("redis went away")

    it.pads.hand_off = fails
    await it.leave()
    assert log == ["pads.hand_off", "runner.drain", "pads.shut_down", "runner.shut_down"]
