"""/api/v1/invoices and /api/v1/payments: your invoices (JSON and PDF) and payments (anyone else's is a 404),
and the Stripe card set-up a purchase pays with."""

from __future__ import annotations

import uuid
from typing import Any

from flask import make_response
from werkzeug.wrappers import Response

from app.api import billing_schemas as bs
from app.api import pagination, schemas
from app.api.kit import ApiBlueprint, current_token
from app.billing import invoices as invoice_service
from app.billing.pdf import render_invoice_pdf
from app.billing.services import payment_methods as payment_method_service
from app.extensions import limiter
from app.models.billing import Invoice

blp = ApiBlueprint("api_invoices", __name__, url_prefix="/api/v1/invoices", description="Your invoices.")
payments_blp = ApiBlueprint("api_payments", __name__, url_prefix="/api/v1/payments", description="Your payments.")


# Each one is a SetupIntent at Stripe: the card setup page's limit (app/billing/routes/checkout.py), per user.
CARD_SETUPS_PER_USER = "20/hour"


def _user_key() -> str:
    return f"card-setup:{current_token().user_id}"


@blp.route("", methods=["GET"])
@blp.auth("read")
@blp.arguments(schemas.PageQuery, location="query")
@blp.response(200, bs.InvoicePageOut)
def list_invoices(args: dict[str, Any]) -> dict[str, Any]:
    """Your issued invoices and credit notes (the invoices page's), newest first; pages by `next_cursor`."""
    limit = args["limit"]
    rows = invoice_service.issued_before(current_token().user_id, pagination.decode_position(args["cursor"]), limit + 1)
    cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        cursor = pagination.encode_position(last.issued_at, last.id)
    return {"items": rows[:limit], "next_cursor": cursor, "next": pagination.next_link(cursor)}


@blp.route("/<uuid:invoice_id>", methods=["GET"])
@blp.auth("read")
@blp.errors(404)
@blp.response(200, bs.InvoiceOut)
def get_invoice(invoice_id: uuid.UUID) -> Invoice:
    """One of your invoices with its lines."""
    return invoice_service.get_for_user(current_token().user_id, invoice_id)


@blp.route("/<uuid:invoice_id>.pdf", methods=["GET"])
@blp.auth("read")
@blp.errors(404)
@blp.response(200, content_type="application/pdf", description="The invoice as a PDF.")
def invoice_pdf(invoice_id: uuid.UUID) -> Response:
    """One of your invoices as the PDF the invoices page offers."""
    invoice = invoice_service.get_for_user(current_token().user_id, invoice_id)
    response = make_response(render_invoice_pdf(invoice, invoice_service.original_number(invoice)))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


@payments_blp.route("/card-setup", methods=["POST"])
@payments_blp.auth("billing")
@limiter.limit(CARD_SETUPS_PER_USER, key_func=_user_key)
@payments_blp.errors(409, 502)
@payments_blp.response(201, bs.CardSetupOut)
def card_setup() -> dict[str, str]:
    """With Stripe: a SetupIntent for your app to confirm the card with Stripe's SDK; then send its id as
    the purchase's `setup_intent`. 409 with the sandbox gateway, which takes the card fields instead."""
    setup = payment_method_service.start_card_setup(current_token().user)
    return {"setup_intent": setup.id, "client_secret": setup.client_secret}


@payments_blp.route("/<uuid:payment_id>", methods=["GET"])
@payments_blp.auth("read")
@payments_blp.errors(404)
@payments_blp.response(200, bs.PaymentOut)
def get_payment(payment_id: uuid.UUID) -> dict[str, Any]:
    """One of your payments (a charge or a refund) and the invoices it paid."""
    tx, invoices = invoice_service.payment_for_user(current_token().user_id, payment_id)
    fields = ("id", "kind", "purpose", "status", "amount", "currency", "subscription_id", "failure_message")
    return {
        **{name: getattr(tx, name) for name in fields},
        "created_at": tx.created_at,
        "settled_at": tx.settled_at,
        "invoices": invoices,
    }
