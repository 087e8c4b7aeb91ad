"""Home page and the operational endpoints (health, readiness, metrics)."""
from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import abort, current_app, jsonify, render_template, request

from app import metrics
from app.extensions import csrf, db, limiter
from app.main import bp
from app.redis_client import redis_alive


@bp.get("/")
def home():
    from app.catalog.queries import featured_products

    featured, prices = featured_products()
    return render_template("main/home.html", featured=featured, featured_prices=prices)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    down = []
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:
        db.session.rollback()
        down.append("database")
    if not redis_alive():
        down.append("redis")
    if down:
        return jsonify(status="unavailable", down=down, message=f"not ready: {', '.join(down)} down"), 503
    return jsonify(status="ready", down=[])


@bp.get("/metrics")
@limiter.exempt
@csrf.exempt
def prometheus_metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token and current_app.config["APP_ENV"] == "production":
        abort(404)  # counts per endpoint are for the operator's scraper, never open on the internet
    if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()):
        abort(404)
    return metrics.render()
