"""Billing jobs: the lifecycle run, reconciliation, and the sandbox's webhook deliveries."""
from app.billing import lifecycle, reconcile
from app.billing.gateway.delivery import deliver_event
from app.models.base import utcnow


def run_lifecycle() -> dict:
    return dict(lifecycle.run())


def reconcile_payments() -> dict:
    report = lifecycle.Report()
    reconcile.run(utcnow(), report)
    return dict(report)


def deliver_gateway_event(event: dict) -> int:
    """POST one signed sandbox event to the webhook (retried by RQ when it does not answer 2xx)."""
    return deliver_event(event)
