"""Webhook signatures: `X-MultiProduct-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`.

v1 = HMAC-SHA256(secret, f"{t}.{raw body}"). Several v1 values may be sent while
a secret is rotated; any configured secret matching any v1 is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-MultiProduct-Signature"


class SignatureError(ValueError):
    """The signature is missing, malformed, wrong or too old."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: list[str], timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={timestamp}"] + [f"v1={compute(s, timestamp, body)}" for s in secrets])


def parse(header: str) -> tuple[int, list[str]]:
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("missing or malformed signature header")
    return timestamp, signatures


def verify(header: str, body: bytes, secrets: list[str], *, tolerance: int, now: float | None = None) -> int:
    """Return the signed timestamp, or raise SignatureError."""
    if not secrets:
        raise SignatureError("no webhook secret is configured")
    timestamp, signatures = parse(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance window")
    expected = [compute(secret, timestamp, body) for secret in secrets]
    # Compare every pair in constant time; no early exit on the first match.
    matched = False
    for candidate in signatures:
        for good in expected:
            matched |= hmac.compare_digest(candidate.encode(), good.encode())
    if not matched:
        raise SignatureError("signature does not match")
    return timestamp
