"""The payment providers' signed events (no CSRF token: the signature is the proof).

POST /payment/webhook is the sandbox's, POST /payment/stripe/webhook Stripe's; both read their
raw body (up to PAYMENT_WEBHOOK_MAX_BYTES, else 413) and go through app/billing/webhooks.
"""

from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.wrappers import Response

from app.billing import bp, webhooks
from app.billing.gateway.signing import HEADER
from app.extensions import csrf
from app.http_guards import raw_body

log = logging.getLogger(__name__)
STRIPE_HEADER = "Stripe-Signature"


def _receive(gateway: str, header: str) -> tuple[Response, int]:
    try:
        received = webhooks.receive(request.get_data(cache=False), request.headers.get(header, ""), gateway=gateway)
    except webhooks.BadWebhook as exc:
        log.warning("%s webhook refused: %s", gateway, exc)
        return jsonify(error=str(exc)), 400
    return jsonify(status=received.status, note=received.note), 200


@bp.post("/payment/webhook")
@csrf.exempt
@raw_body("PAYMENT_WEBHOOK_MAX_BYTES")
def webhook() -> tuple[Response, int]:
    return _receive("sandbox", HEADER)


@bp.post("/payment/stripe/webhook")
@csrf.exempt
@raw_body("PAYMENT_WEBHOOK_MAX_BYTES")
def stripe_webhook() -> tuple[Response, int]:
    return _receive("stripe", STRIPE_HEADER)
