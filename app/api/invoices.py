"""/api/v1/invoices and /api/v1/payments: your invoices (JSON and PDF) and payments. Anyone else's is a 404."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import make_response
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app.api import billing_schemas as bs
from app.api import pagination, schemas
from app.api.kit import ApiBlueprint, current_token
from app.billing import invoices as invoice_service
from app.billing.pdf import render_invoice_pdf
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models.billing import Invoice, Transaction

blp = ApiBlueprint("api_invoices", __name__, url_prefix="/api/v1/invoices", description="Your invoices.")
payments_blp = ApiBlueprint("api_payments", __name__, url_prefix="/api/v1/payments", description="Your payments.")


def _position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    value = pagination.decode(cursor)
    if value is None:
        return None
    try:
        when, ident = value
        return datetime.fromisoformat(when), uuid.UUID(ident)
    except (TypeError, ValueError):
        raise ValidationError({"cursor": pagination.BAD_CURSOR}) from None


@blp.route("", methods=["GET"])
@blp.auth("read")
@blp.arguments(schemas.PageQuery, location="query")
@blp.response(200, bs.InvoicePageOut)
def list_invoices(args: dict[str, Any]) -> dict[str, Any]:
    """Your issued invoices and credit notes (the invoices page's), newest first; pages by `next_cursor`."""
    limit = args["limit"]
    query = (
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.user_id == current_token().user_id, Invoice.status != "draft", Invoice.issued_at.is_not(None))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(limit + 1)
    )
    after = _position(args["cursor"])
    if after is not None:
        query = query.where(sa.tuple_(Invoice.issued_at, Invoice.id) < sa.tuple_(*after))
    rows = list(db.session.scalars(query))
    cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        cursor = pagination.encode([last.issued_at.isoformat() if last.issued_at else "", str(last.id)])
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


@payments_blp.route("/<uuid:payment_id>", methods=["GET"])
@payments_blp.auth("read")
@payments_blp.errors(404)
@payments_blp.response(200, bs.PaymentOut)
def get_payment(payment_id: uuid.UUID) -> dict[str, Any]:
    """One of your payments (a charge or a refund) and the invoices it paid."""
    user_id = current_token().user_id
    tx = db.session.scalar(sa.select(Transaction).where(Transaction.id == payment_id, Transaction.user_id == user_id))
    if tx is None:
        raise NotFound("We couldn't find that payment.")
    invoices = db.session.scalars(
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.transaction_id == tx.id, Invoice.user_id == user_id, Invoice.status != "draft")
        .order_by(Invoice.number)
    ).all()
    fields = ("id", "kind", "purpose", "status", "amount", "currency", "subscription_id", "failure_message")
    return {
        **{name: getattr(tx, name) for name in fields},
        "created_at": tx.created_at,
        "settled_at": tx.settled_at,
        "invoices": invoices,
    }
