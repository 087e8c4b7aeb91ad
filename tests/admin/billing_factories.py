"""Invoices, transactions and subscriptions for the admin billing pages, made through the billing services."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from app.billing import invoices as invoice_service
from app.billing.pricing import price_line
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Transaction
from app.models.catalog import Plan, Product
from tests.billing.factories import make_plan, make_product, make_subscription


def catalog() -> tuple[Product, Plan]:
    product = make_product("Pipeline CRM")
    return product, make_plan(product, name="Team", cycle="monthly", price=4900, trial_days=14)


def make_invoices(
    user, plan: Plan, count: int = 1, *, status: str = "open", now=None, subscription_id=None
) -> list[Invoice]:
    """`count` finalized bank-transfer invoices for `plan` (10 % fee), numbered by the real counter;
    status "paid" records the bank transfer that paid each one."""
    product = db.session.get(Product, plan.product_id)
    now = now or utcnow()
    line = price_line(plan, product, 1, Decimal("10"))
    drafts = [
        invoice_service.draft_invoice(
            user=user,
            line=line,
            subscription_id=subscription_id,
            method="bank_transfer",
            label="Bank transfer",
            period=(now, now + timedelta(days=30)),
        )
        for _ in range(count)
    ]
    invoice_service.finalize(drafts, now=now, due_at=now + timedelta(days=14))
    if status == "paid":
        for invoice in drafts:
            tx = Transaction(
                id=uuid.uuid4(),
                user_id=user.id,
                kind="charge",
                purpose="bank_transfer",
                status="succeeded",
                amount=invoice.total,
                currency=invoice.currency,
                gateway="bank_transfer",
                idempotency_key=f"test:{invoice.id}",
                settled_at=now,
            )
            db.session.add(tx)
            db.session.flush()
            invoice_service.mark_paid(invoice, now=now, transaction_id=tx.id)
    db.session.commit()
    return drafts


__all__ = ["catalog", "make_invoices", "make_subscription"]
