"""Billing jobs: the lifecycle run, reconciliation, refunds, and the sandbox's webhook deliveries."""

from typing import Any
from uuid import UUID

from app.billing.gateway.delivery import deliver_event
from app.billing.services import lifecycle, reconcile, refunds
from app.models.base import utcnow


def run_lifecycle() -> dict[str, int]:
    return dict(lifecycle.run())


def reconcile_payments() -> dict[str, int]:
    report = lifecycle.Report()
    reconcile.run(utcnow(), report)
    return dict(report)


def deliver_gateway_event(event: dict[str, Any]) -> int:
    """POST one signed sandbox event to the webhook (retried by RQ when it does not answer 2xx)."""
    return deliver_event(event)


def send_refund(refund_id: str) -> str:
    """Send a pending refund to the gateway (retried by RQ; a retry finds it sent and does nothing)."""
    return refunds.send_refund(UUID(refund_id))
