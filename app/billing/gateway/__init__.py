"""Payment gateways. `get_gateway()` returns the configured adapter (PAYMENT_GATEWAY: sandbox or stripe)."""

from __future__ import annotations

from flask import current_app

from app.billing.gateway.base import (
    CardDetails,
    GatewayPayment,
    GatewayResult,
    GatewayUnavailable,
    PaymentGateway,
    SavedCard,
    Setup,
)

__all__ = [
    "CardDetails",
    "GatewayPayment",
    "GatewayResult",
    "GatewayUnavailable",
    "PaymentGateway",
    "SavedCard",
    "Setup",
    "get_gateway",
]


def get_gateway() -> PaymentGateway:
    name = current_app.config.get("PAYMENT_GATEWAY", "sandbox")
    if name == "sandbox":
        from app.billing.gateway.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "stripe":
        from app.billing.gateway.stripe import StripeGateway

        return StripeGateway()
    raise RuntimeError(f"unknown PAYMENT_GATEWAY {name!r}; the adapters are 'sandbox' and 'stripe'")
