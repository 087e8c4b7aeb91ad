"""Authenticator-app codes (TOTP, RFC 6238: 6 digits, 30-second steps, SHA-1 — what every app speaks).

Pure functions: the secret, the provisioning URI and its QR code as SVG, and which time step a
code matches within ±1 step of drift (the caller refuses a step it has already accepted).
"""

from __future__ import annotations

import hmac
import io
import time

import pyotp
import segno

STEP_SECONDS = 30
DRIFT_STEPS = 1
DIGITS = 6


def new_secret() -> str:
    """A fresh base32 secret (160 bits, RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def grouped(secret: str) -> str:
    """The key as people type it from the page: groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str, *, title: str) -> str:
    """The URI as an inline SVG QR code (no data: URL, no external service)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out,
        kind="svg",
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        title=title,
        svgclass="qr",
        lineclass=None,
    )
    return out.getvalue().decode()


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step (now ±1) whose code `code` is, or None. Constant-time comparison per step."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    found = None
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found
