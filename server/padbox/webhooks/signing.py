"""How a webhook is signed, and the reference verifier a receiver can copy (docs/pads.md shows it; the tests use it).

`Padbox-Signature: t=<unix seconds>,v1=<hex>` where hex = HMAC-SHA256(secret, "<t>." + body). The timestamp is
signed with the body, so an attacker who captured a request can only replay it unchanged: a receiver rejects a
timestamp outside its tolerance window, and inside it a `Padbox-Delivery` id it has already seen. A retry of a
delivery carries the same id (and a fresh timestamp and signature): the receiver answers it 2xx and does nothing.

Standard library only, on purpose: a receiver's verifier should not need padbox.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

SIGNATURE_HEADER = "Padbox-Signature"
DELIVERY_HEADER = "Padbox-Delivery"
EVENT_HEADER = "Padbox-Event"
TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Rejected(Exception):
    """The request is not a genuine, fresh delivery: answer 400 (or 401) and act on nothing."""


def check_signature(secret: str, header: str, body: bytes, now: float, tolerance_s: float = TOLERANCE_S) -> int:
    """The signed timestamp of a genuine request, or Rejected: a malformed header, a timestamp outside the window,
    a signature that does not match (compared in constant time)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        raise Rejected("malformed Padbox-Signature header") from None
    if abs(now - timestamp) > tolerance_s:
        raise Rejected("the signature's timestamp is outside the tolerance window")
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        raise Rejected("the signature does not match")
    return timestamp


@dataclass
class Verifier:
    """A receiver's whole check: the signature, then the delivery id. Remembers ids it has accepted for as long as
    the sender may retry (`remember_s`; keep it at least PADBOX_WEBHOOK_RETRY_FOR_S plus the tolerance), so a repeat
    (padbox's retry, or an attacker's replay inside the window) is known as one."""

    secret: str
    tolerance_s: float = TOLERANCE_S
    remember_s: float = 86400 + TOLERANCE_S
    seen: dict[str, float] = field(default_factory=dict)  # delivery id -> when it may be forgotten

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
        """True for a new delivery (act on it), False for a repeat of one already accepted (answer 2xx, do nothing);
        Rejected for anything not signed with the secret, or signed too long ago."""
        now = time.time() if now is None else now
        lower = {k.lower(): v for k, v in headers.items()}
        check_signature(self.secret, lower.get(SIGNATURE_HEADER.lower(), ""), body, now, self.tolerance_s)
        delivery = lower.get(DELIVERY_HEADER.lower(), "")
        if not delivery:
            raise Rejected("no Padbox-Delivery header")
        self.seen = {k: v for k, v in self.seen.items() if v > now}
        if delivery in self.seen:
            return False
        self.seen[delivery] = now + self.remember_s
        return True
