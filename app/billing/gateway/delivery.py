"""The sandbox's side of webhooks: sign an event and POST it to our endpoint, as a provider does."""

from __future__ import annotations

import json
from typing import Any

import requests
from flask import current_app

from app.billing.gateway import signing
from app.errors import ExternalServiceError
from app.links import external_url


def webhook_secrets() -> list[str]:
    raw = current_app.config.get("PAYMENT_WEBHOOK_SECRETS") or ""
    return [s.strip() for s in raw.split(",") if s.strip()]


def webhook_url() -> str:
    return current_app.config.get("PAYMENT_WEBHOOK_URL") or external_url("billing.webhook")


def deliver_event(event: dict[str, Any]) -> int:
    """POST one signed event. A non-2xx answer raises, so the job is retried with backoff."""
    body = json.dumps(event, separators=(",", ":")).encode()
    header = signing.sign(body, webhook_secrets()[:1])
    try:
        response = requests.post(
            webhook_url(), data=body, timeout=10, headers={"Content-Type": "application/json", signing.HEADER: header}
        )
    except requests.RequestException as exc:
        raise ExternalServiceError(f"webhook delivery failed: {exc}") from exc
    if response.status_code >= 300:
        raise ExternalServiceError(f"webhook answered {response.status_code}: {response.text[:200]}")
    return response.status_code
