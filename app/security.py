"""Security headers: a per-request CSP nonce and the usual hardening."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, request, session
from werkzeug.wrappers import Response


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    nonce: str = g.csp_nonce
    return nonce


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def stripe_sources(config: Mapping[str, Any]) -> dict[str, str]:
    """What the configured Stripe.js needs beside 'self', per directive (nothing unless Stripe is the gateway):
    its script, its frames (and Stripe's 3-D Secure pages), and its calls to the API."""
    if config.get("PAYMENT_GATEWAY") != "stripe":
        return {"script": "", "frame": "", "connect": ""}
    js = _origin(config.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/")
    api = _origin(config.get("STRIPE_API_BASE") or "https://api.stripe.com")
    frames = [js, "https://hooks.stripe.com"] if js == "https://js.stripe.com" else [js]
    return {
        "script": f" {js}",
        "frame": " " + " ".join(frames),
        "connect": " " + " ".join(dict.fromkeys([api, js])),
    }


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _headers(response: Response) -> Response:
        nonce = csp_nonce()
        stripe = stripe_sources(app.config)
        response.headers.setdefault(
            "Content-Security-Policy",
            "; ".join(
                [
                    "default-src 'self'",
                    f"script-src 'self' 'nonce-{nonce}'{stripe['script']}",
                    f"style-src 'self' 'nonce-{nonce}'",
                    "img-src 'self' data:",
                    "font-src 'self'",
                    f"connect-src 'self'{stripe['connect']}",
                    f"frame-src 'self'{stripe['frame']}",
                    "object-src 'none'",
                    "base-uri 'self'",
                    "form-action 'self'",
                    "frame-ancestors 'none'",
                ]
            ),
        )
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
