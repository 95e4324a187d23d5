"""The network, seen from inside the sandbox. No packet is ever sent off this machine: the probe tries an
outside address only after proving there is no interface but loopback and no route, and then connect()
fails before anything is sent."""

from __future__ import annotations

import pytest

from tests.security.target import GVISOR, Target, program, report

pytestmark = pytest.mark.docker

# gVisor's own network stack answers a missing route with EHOSTUNREACH; Linux with ENETUNREACH.
UNREACHABLE = ("ENETUNREACH", "EHOSTUNREACH") if GVISOR else ("ENETUNREACH",)


@pytest.fixture(scope="module")
async def network(target: Target) -> dict[str, object]:
    t = await target.run("python", program("network_probe.py"))
    await target.survived(t)
    return report(t)


async def test_there_is_no_interface_but_loopback(network: dict[str, object]) -> None:
    assert network["interfaces"] == ["lo"]


async def test_there_is_no_route_and_no_usable_resolver(network: dict[str, object]) -> None:
    assert network["routes"] == [] and network["ipv6_routes"] == []
    assert network["isolated"] is True
    unreachable_resolvers = [a for a in network["attempts"] if a["to"] in network["nameservers"]]  # type: ignore
    assert all(a["result"] in UNREACHABLE for a in unreachable_resolvers)


async def test_outside_addresses_fail_at_once_metadata_included(network: dict[str, object]) -> None:
    attempts = {a["to"]: a for a in network["attempts"]}  # type: ignore[attr-defined]
    assert {"169.254.169.254", "fd00:ec2::254", "172.17.0.1"} <= set(attempts)
    for address, attempt in attempts.items():
        assert attempt["result"] in UNREACHABLE, f"{address}: {attempt}"
        assert attempt["ms"] < 200, f"{address}: not refused at once ({attempt['ms']} ms)"
    assert network["loopback"] == "ECONNREFUSED", "the local stack works; only the way out is missing"


async def test_no_host_socket_is_reachable(network: dict[str, object]) -> None:
    assert not [s for s in network["unix_sockets"] if "docker" in s or "containerd" in s]  # type: ignore
