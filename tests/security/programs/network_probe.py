"""Look at the sandbox's network from inside, then try outside addresses only once it is proven that
no packet can leave: with no interface but loopback and no route, connect() fails with ENETUNREACH
before anything is sent. Prints one JSON report."""

import errno
import json
import os
import socket
import time

RTF_REJECT = 0x0200


def interfaces() -> list[str]:
    names = set()
    try:
        names.update(os.listdir("/sys/class/net"))
    except OSError:
        pass
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            names.add(line.split(":")[0].strip())
    return sorted(names)


def ipv4_routes() -> list[str]:
    with open("/proc/net/route") as f:
        return [line.strip() for line in f.readlines()[1:] if line.strip()]


def ipv6_routes_out() -> list[str]:
    """IPv6 routes that could carry a packet off this machine (reject routes and loopback ones cannot)."""
    try:
        with open("/proc/net/ipv6_route") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return []
    usable = []
    for line in filter(None, lines):
        fields = line.split()
        flags, iface = int(fields[8], 16), fields[9]
        if not flags & RTF_REJECT and iface != "lo":
            usable.append(line)
    return usable


def nameservers() -> list[str]:
    try:
        with open("/etc/resolv.conf") as f:
            return [line.split()[1] for line in f if line.startswith("nameserver")]
    except FileNotFoundError:
        return []


def attempt(family: int, kind: int, address: tuple) -> dict:
    started = time.monotonic()
    try:
        with socket.socket(family, kind) as s:
            s.settimeout(2)
            s.connect(address)
            outcome = "connected"
    except OSError as exc:
        outcome = errno.errorcode.get(exc.errno or 0, str(exc))
    return {"to": str(address[0]), "result": outcome, "ms": round((time.monotonic() - started) * 1000)}


report = {
    "interfaces": interfaces(),
    "routes": ipv4_routes(),
    "ipv6_routes": ipv6_routes_out(),
    "nameservers": nameservers(),
    "attempts": [],
}
isolated = report["interfaces"] == ["lo"] and not report["routes"] and not report["ipv6_routes"]
report["isolated"] = isolated
# Loopback works (so a failure below is the missing route, not a broken network stack).
report["loopback"] = attempt(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 9))["result"]
if isolated:  # never contact an outside address unless nothing can leave
    targets = [
        (socket.AF_INET, socket.SOCK_STREAM, ("169.254.169.254", 80)),  # cloud metadata
        (socket.AF_INET, socket.SOCK_STREAM, ("172.17.0.1", 2375)),  # Docker's bridge gateway
        (socket.AF_INET, socket.SOCK_STREAM, ("10.0.0.1", 22)),
        (socket.AF_INET, socket.SOCK_STREAM, ("192.168.1.1", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 443)),
        (socket.AF_INET6, socket.SOCK_STREAM, ("fd00:ec2::254", 80)),  # IPv6 cloud metadata
        (socket.AF_INET6, socket.SOCK_STREAM, ("2001:4860:4860::8888", 443)),
    ]
    targets += [(socket.AF_INET, socket.SOCK_DGRAM, (ns, 53)) for ns in report["nameservers"] if ":" not in ns]
    report["attempts"] = [attempt(*target) for target in targets]
with open("/proc/net/unix") as f:
    report["unix_sockets"] = [line.split()[-1] for line in f.readlines()[1:] if len(line.split()) > 7]
print(json.dumps(report))
