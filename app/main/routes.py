"""Home page and the operational endpoints (health, readiness, metrics)."""

from __future__ import annotations

import hmac

from flask import Response, abort, current_app, jsonify, render_template, request

from app import metrics
from app.catalog.queries import featured_products
from app.extensions import csrf, limiter
from app.health import down_parts
from app.main import bp


@bp.get("/")
def home() -> str:
    featured, prices = featured_products()
    return render_template("main/home.html", featured=featured, featured_prices=prices)


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz() -> Response | tuple[Response, int]:
    down = down_parts()
    if down:
        return jsonify(status="unavailable", down=down, message=f"not ready: {', '.join(down)} down"), 503
    return jsonify(status="ready", down=[])


@bp.get("/metrics")
@limiter.exempt
def prometheus_metrics() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if not token and current_app.config["APP_ENV"] == "production":
        abort(404)  # counts per endpoint are for the operator's scraper, never open on the internet
    if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        abort(404)
    return metrics.render()


csrf.exempt(prometheus_metrics)  # a call, not a decorator: flask_wtf's is untyped and would untype the view
