"""A payment disputed at the card holder's bank (a chargeback): its invoices are marked, billing staff told.

Stripe reports it (`charge.dispute.created`, app/billing/webhooks/stripe.py); the money is held
until the dispute is decided, so the invoices it paid read "disputed" rather than "paid" (a
disputed invoice can't be refunded, voided or marked paid from the admin). Everyone who may manage
billing gets a notification and an email through the outbox; each invoice's change is audited.
When it closes (`charge.dispute.closed`) a won dispute makes them paid again; a lost one leaves them
disputed (the bank took the money back). Both are audited.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app import audit
from app.billing import notices
from app.billing.invoices import lock_invoices
from app.models.billing import Invoice, Transaction


def open_dispute(
    tx: Transaction,
    *,
    dispute_id: str,
    reason: str,
    amount: int,
    currency: str,
    respond_by: datetime | None,
    now: datetime,
) -> list[Invoice]:
    """The paid invoices `tx` paid become disputed (the caller holds its lock and commits); returns them."""
    invoices = lock_invoices(sa.and_(Invoice.transaction_id == tx.id, Invoice.kind == "invoice"))
    disputed = [invoice for invoice in invoices if invoice.status == "paid"]
    for invoice in disputed:
        invoice.status = "disputed"
        audit.record(
            "invoice.disputed",
            target=invoice,
            before={"status": "paid"},
            after={"status": "disputed", "dispute": dispute_id, "reason": reason, "amount": amount},
        )
    if disputed:
        notices.dispute_opened(disputed, reason=reason, amount=amount, currency=currency, respond_by=respond_by)
    return disputed


def close_dispute(tx: Transaction, *, dispute_id: str, won: bool, now: datetime) -> list[Invoice]:
    """The dispute was decided: if won, the invoices it held are paid again. Returns the invoices it concerned."""
    invoices = lock_invoices(
        sa.and_(Invoice.transaction_id == tx.id, Invoice.kind == "invoice", Invoice.status == "disputed")
    )
    for invoice in invoices:
        if won:
            invoice.status = "paid"
        audit.record(
            "invoice.dispute_won" if won else "invoice.dispute_lost",
            target=invoice,
            before={"status": "disputed"},
            after={"status": invoice.status, "dispute": dispute_id},
        )
    return invoices
