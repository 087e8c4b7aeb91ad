"""Security headers: a per-request CSP nonce and the usual hardening."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, request, session
from werkzeug.wrappers import Response

STRIPE_JS_ORIGIN = "https://js.stripe.com"
# Stripe.js opens its 3-D Secure and card frames from these (with Stripe's own script only).
STRIPE_FRAMES = ("https://js.stripe.com", "https://hooks.stripe.com")


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def stripe_sources(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The origins the configured Stripe.js needs, by directive (none unless PAYMENT_GATEWAY=stripe): its
    script's, the frames it opens (Stripe's: js and hooks; localstripe's fake opens none of its own), and
    the API it calls."""
    if config.get("PAYMENT_GATEWAY") != "stripe":
        return {}
    script = _origin(config.get("STRIPE_JS_URL") or "")
    api = _origin(config.get("STRIPE_API_BASE") or "")
    frames = list(STRIPE_FRAMES) if script == STRIPE_JS_ORIGIN else [script]
    return {
        "script-src": [o for o in (script,) if o],
        "frame-src": [o for o in frames if o],
        "connect-src": [o for o in (api,) if o],
    }


def policy(nonce: str, config: Mapping[str, Any]) -> str:
    """The Content-Security-Policy: our own origin and nonce, plus exactly Stripe's origins when it is configured."""
    extra = stripe_sources(config)

    def allowed(directive: str, *own: str) -> str:
        return " ".join([directive, *own, *(o for o in extra.get(directive, []) if o not in own)])

    directives = [
        "default-src 'self'",
        allowed("script-src", "'self'", f"'nonce-{nonce}'"),
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data:",
        "font-src 'self'",
        allowed("connect-src", "'self'"),
        *([allowed("frame-src", "'self'")] if extra else []),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _headers(response: Response) -> Response:
        nonce = csp_nonce()
        response.headers.setdefault("Content-Security-Policy", policy(nonce, app.config))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("HSTS"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static" and session.get("_user_id"):
            # Someone's own page or fragment: no browser history, proxy or back button may keep a copy.
            # (Read from the session, not the user row: this must hold while the database is down.)
            response.cache_control.no_store = True
            response.vary.add("Cookie")
        return response
