"""POST /payment/webhook: the payment provider's signed events (no CSRF token: the signature is the proof)."""

from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.wrappers import Response

from app.billing import bp, webhooks
from app.billing.gateway.signing import HEADER
from app.extensions import csrf
from app.http_guards import raw_body

log = logging.getLogger(__name__)


@bp.post("/payment/webhook")
@csrf.exempt
@raw_body("PAYMENT_WEBHOOK_MAX_BYTES")
def webhook() -> tuple[Response, int]:
    try:
        received = webhooks.receive(request.get_data(cache=False), request.headers.get(HEADER, ""))
    except webhooks.BadWebhook as exc:
        log.warning("webhook refused: %s", exc)
        return jsonify(error=str(exc)), 400
    return jsonify(status=received.status, note=received.note), 200
