"""Invoices: draft one from a priced line, finalize (numbered), pay; what a customer may see."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.account.services import BillingDetails
from app.billing import numbering, seller
from app.billing.pricing import PricedLine
from app.errors import NotFound
from app.extensions import db
from app.models.billing import Invoice, InvoiceLine, Transaction
from app.models.user import User
from app.money import percent_text

PAGE_SIZE = 20


def bill_to(user: User, details: BillingDetails | None = None) -> dict[str, Any]:
    """Who pays, copied onto the order and its invoices: a later profile change does not rewrite them.
    `details`: the billing details given at checkout, instead of the profile's."""
    columns = details.columns() if details is not None else {}
    company, address, tax_id = (
        (columns["company"], columns["address"], columns["tax_id"])
        if details is not None
        else (user.company, user.address, user.tax_id)
    )
    return {
        "name": user.full_name or user.display_name,
        "email": user.email,
        "company": company or "",
        "address": address or {},
        "tax_id": tax_id or "",
    }


def is_complete(bill: dict[str, Any]) -> bool:
    """Whether billing details say where to send an invoice (company and tax id are optional)."""
    address = bill.get("address") or {}
    return all(address.get(name) for name in ("line1", "city", "postal_code", "country"))


def build_lines(line: PricedLine) -> list[InvoiceLine]:
    lines = [
        InvoiceLine(
            position=0,
            kind="plan",
            description=line.description,
            plan_id=line.plan_id,
            quantity=line.quantity,
            unit_amount=line.unit_price,
            amount=line.subtotal,
        )
    ]
    if line.discount:
        lines.append(
            InvoiceLine(
                position=1,
                kind="discount",
                quantity=1,
                unit_amount=-line.discount,
                amount=-line.discount,
                description=f"Discount ({percent_text(line.discount_percent)}%)",
            )
        )
    if line.coupon is not None and line.coupon_discount:
        lines.append(
            InvoiceLine(
                position=2,
                kind="discount",
                quantity=1,
                unit_amount=-line.coupon_discount,
                amount=-line.coupon_discount,
                description=line.coupon.label(line.currency),
            )
        )
    if line.fee:
        lines.append(
            InvoiceLine(
                position=3,
                kind="fee",
                quantity=1,
                unit_amount=line.fee,
                amount=line.fee,
                description=f"Platform fee ({percent_text(line.fee_percent)}%)",
            )
        )
    return lines


def draft_invoice(
    *,
    user: User,
    line: PricedLine,
    subscription_id: uuid.UUID | None,
    method: str,
    label: str,
    period: tuple[datetime, datetime],
    checkout_id: uuid.UUID | None = None,
    billed: dict[str, Any] | None = None,
    invoice_id: uuid.UUID | None = None,
) -> Invoice:
    """billed: who pays as recorded when the order was placed (default: the user as they are now);
    invoice_id: the id the order chose for it before it was paid (default: a new one)."""
    invoice = Invoice(
        id=invoice_id or uuid.uuid4(),
        kind="invoice",
        status="draft",
        user_id=user.id,
        subscription_id=subscription_id,
        payment_method=method,
        payment_label=label,
        currency=line.currency,
        subtotal=line.subtotal,
        discount=line.all_discounts,
        fee=line.fee,
        fee_percent=line.fee_percent,
        total=line.total,
        period_start=period[0],
        period_end=period[1],
        bill_to=billed or bill_to(user),
        checkout_id=checkout_id,
        lines=build_lines(line),
    )
    db.session.add(invoice)
    return invoice


def finalize(invoices: list[Invoice], *, now: datetime, due_at: datetime | None = None) -> None:
    """draft → open, each with the next gapless number of its series (the counter stays locked till commit)
    and the seller details of now (a later change of the settings does not rewrite it)."""
    for kind in ("invoice", "credit_note"):
        drafts = [i for i in invoices if i.status == "draft" and i.kind == kind]
        if not drafts:
            continue
        issuer = seller.current().as_dict()
        for invoice, number in zip(drafts, numbering.allocate(kind, now.year, len(drafts)), strict=True):
            invoice.seller = invoice.seller or issuer
            invoice.number = number
            invoice.status = "open"
            invoice.issued_at = now
            invoice.due_at = due_at or invoice.due_at or now


def finalize_invoice(invoice_id: uuid.UUID, *, now: datetime) -> Invoice:
    """Finalize one draft and commit (the admin "finalize" action and the numbering race test use it)."""
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None:
        raise NotFound("No such invoice.")
    finalize([invoice], now=now)
    db.session.commit()
    return invoice


def mark_paid(invoice: Invoice, *, now: datetime, transaction_id: uuid.UUID | None = None) -> bool:
    if invoice.status not in ("open", "uncollectible"):
        return False
    invoice.status = "paid"
    invoice.paid_at = now
    if transaction_id is not None:
        invoice.transaction_id = transaction_id
    return True


def lock_invoices(where: sa.ColumnElement[bool]) -> list[Invoice]:
    return list(
        db.session.scalars(
            sa.select(Invoice)
            .where(where)
            .order_by(Invoice.number)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def for_user(user_id: uuid.UUID, page: int = 1) -> tuple[list[Invoice], bool]:
    """Finalized invoices and credit notes of a user, newest first; (rows, has_more)."""
    page = max(1, min(int(page), 10_000))
    rows = list(
        db.session.scalars(
            sa.select(Invoice)
            .options(selectinload(Invoice.lines))
            .where(Invoice.user_id == user_id, Invoice.status != "draft")
            .order_by(Invoice.issued_at.desc(), Invoice.number.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def issued_before(user_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Invoice]:
    """A user's issued invoices and credit notes, newest first, after the (issued_at, id) keyset position."""
    query = (
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.user_id == user_id, Invoice.status != "draft", Invoice.issued_at.is_not(None))
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(sa.tuple_(Invoice.issued_at, Invoice.id) < sa.tuple_(*after))
    return list(db.session.scalars(query))


def get_for_user(user_id: uuid.UUID, invoice_id: uuid.UUID | str) -> Invoice:
    """The invoice with its lines, if it belongs to `user_id`; otherwise NotFound (never 403: no probing)."""
    try:
        invoice_id = uuid.UUID(str(invoice_id))
    except ValueError:
        raise NotFound("We couldn't find that invoice.") from None
    invoice = db.session.scalar(
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.id == invoice_id, Invoice.user_id == user_id, Invoice.status != "draft")
    )
    if invoice is None:
        raise NotFound("We couldn't find that invoice.")
    return invoice


def issued_by(invoice: Invoice) -> seller.SellerDetails:
    """The seller block: as copied when the invoice was numbered; a draft (or an older row) shows today's."""
    return seller.SellerDetails.from_dict(invoice.seller) if invoice.seller else seller.current()


def original_number(invoice: Invoice) -> str | None:
    """The number of the invoice a credit note corrects."""
    if invoice.original_invoice_id is None:
        return None
    return db.session.scalar(sa.select(Invoice.number).where(Invoice.id == invoice.original_invoice_id))


def by_subscription(subscription_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Invoice]]:
    grouped: dict[uuid.UUID, list[Invoice]] = {sid: [] for sid in subscription_ids}
    if subscription_ids:
        for invoice in db.session.scalars(
            sa.select(Invoice)
            .where(Invoice.subscription_id.in_(subscription_ids), Invoice.status != "draft")
            .order_by(Invoice.issued_at.desc())
        ):
            if invoice.subscription_id is not None:  # always: the query selects by it
                grouped[invoice.subscription_id].append(invoice)
    return grouped


def payment_for_user(user_id: uuid.UUID, payment_id: uuid.UUID) -> tuple[Transaction, list[Invoice]]:
    """One of this user's payments (a charge or a refund) and the issued invoices it paid. NotFound otherwise."""
    tx = db.session.scalar(sa.select(Transaction).where(Transaction.id == payment_id, Transaction.user_id == user_id))
    if tx is None:
        raise NotFound("We couldn't find that payment.")
    invoices = db.session.scalars(
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.transaction_id == tx.id, Invoice.user_id == user_id, Invoice.status != "draft")
        .order_by(Invoice.number)
    ).all()
    return tx, list(invoices)
