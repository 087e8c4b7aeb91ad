"""The customer's credit balance: credits in (refunds to balance, downgrades, staff adjustments), spent on invoices.

Every movement is a ledger entry written under the balance row's lock (SELECT … FOR UPDATE), in the
transaction of what caused it, so two invoices spending the same balance at once wait for each other
and the second sees what the first left: it never goes below zero (a CHECK says so too).

Spending credit is a payment, not a discount: the invoice keeps its lines, total and tax base, and
`credit_applied` says how much of it the balance paid (the card or transfer pays `amount_due`). That is
how an accountant reads a customer's prepayment: a liability settled against a receivable, not revenue
given away.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from app import audit
from app.billing.sql import insert
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice
from app.models.checkout import CheckoutAttempt
from app.models.credit import CreditBalance, CreditEntry
from app.models.user import User
from app.money import format_money, minor_exponent

REASON_MAX = 300


def balance_of(user_id: uuid.UUID, currency: str) -> int:
    """The balance now (read without a lock: for showing, never for spending)."""
    row = db.session.get(CreditBalance, (user_id, currency.upper()))
    return row.balance if row is not None else 0


def balances(user_id: uuid.UUID) -> list[CreditBalance]:
    """This customer's balances above zero, by currency."""
    return list(
        db.session.scalars(
            sa.select(CreditBalance)
            .where(CreditBalance.user_id == user_id, CreditBalance.balance > 0)
            .order_by(CreditBalance.currency)
        )
    )


def entries(user_id: uuid.UUID, limit: int = 50) -> list[CreditEntry]:
    return list(
        db.session.scalars(
            sa.select(CreditEntry)
            .where(CreditEntry.user_id == user_id)
            .order_by(CreditEntry.created_at.desc(), CreditEntry.id)
            .limit(limit)
        )
    )


def lock_balance(user_id: uuid.UUID, currency: str) -> CreditBalance:
    """The balance row, created at zero if it is missing, locked FOR UPDATE until the caller commits."""
    currency = currency.upper()
    db.session.execute(
        insert(CreditBalance)
        .values(user_id=user_id, currency=currency, balance=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "currency"])
    )
    return db.session.execute(
        sa.select(CreditBalance)
        .where(CreditBalance.user_id == user_id, CreditBalance.currency == currency)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def move(
    row: CreditBalance,
    amount: int,
    source: str,
    *,
    reason: str = "",
    actor_id: uuid.UUID | None = None,
    invoice_id: uuid.UUID | None = None,
    credit_note_id: uuid.UUID | None = None,
    checkout_id: uuid.UUID | None = None,
) -> CreditEntry:
    """One ledger entry on a locked balance row (from `lock_balance`). Raises ValueError below zero."""
    if amount == 0:
        raise ValueError("a credit entry moves money")
    if row.balance + amount < 0:
        raise ValueError("the credit balance can't go below zero")
    row.balance += amount
    entry = CreditEntry(
        user_id=row.user_id,
        currency=row.currency,
        amount=amount,
        balance_after=row.balance,
        source=source,
        reason=reason[:REASON_MAX],
        actor_id=actor_id,
        invoice_id=invoice_id,
        credit_note_id=credit_note_id,
        checkout_id=checkout_id,
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def add_credit(
    user_id: uuid.UUID,
    currency: str,
    amount: int,
    source: str,
    *,
    reason: str,
    actor_id: uuid.UUID | None = None,
    credit_note_id: uuid.UUID | None = None,
) -> CreditEntry:
    """Credit the balance (a refund to balance, a downgrade's unused part). The caller commits."""
    if amount <= 0:
        raise ValueError("a credit adds a positive amount")
    db.session.flush()  # a credit note named here is inserted first
    return move(
        lock_balance(user_id, currency), amount, source, reason=reason, actor_id=actor_id, credit_note_id=credit_note_id
    )


def apply_to_invoice(invoice: Invoice, row: CreditBalance | None = None) -> int:
    """Pay what the balance can of an open invoice's amount due; returns how much (0 without credit).

    `row` may be the balance already locked by the caller (the renewal batch)."""
    if invoice.kind != "invoice" or invoice.amount_due <= 0:
        return 0
    row = row if row is not None else lock_balance(invoice.user_id, invoice.currency)
    used = min(row.balance, invoice.amount_due)
    if used <= 0:
        return 0
    db.session.flush()  # the invoice row exists before the entry naming it (no relationship orders the inserts)
    move(row, -used, "applied", reason=f"Applied to {invoice.number or 'an invoice'}", invoice_id=invoice.id)
    invoice.credit_applied = (invoice.credit_applied or 0) + used
    return used


def give_back_invoice(invoice: Invoice, reason: str) -> int:
    """A voided invoice returns the credit it had spent (its payment was declined); returns how much."""
    spent = invoice.credit_applied or 0
    if spent <= 0:
        return 0
    move(lock_balance(invoice.user_id, invoice.currency), spent, "returned", reason=reason, invoice_id=invoice.id)
    invoice.credit_applied = 0
    return spent


def reserve_for_checkout(attempt: CheckoutAttempt) -> int:
    """Spend what the balance can of a checkout's total before its card is charged; returns how much.

    The invoices don't exist yet (they are made when the payment succeeds), so the entry names the
    checkout and `spread_over` sets each invoice's share when they are."""
    row = lock_balance(attempt.user_id, attempt.currency)
    used = min(row.balance, attempt.amount)
    if used <= 0:
        return 0
    move(row, -used, "applied", reason="Applied at checkout", checkout_id=attempt.id)
    return used


def reserved_for(attempt: CheckoutAttempt) -> int:
    """The credit this checkout holds: spent on it, less any given back."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount), 0)).where(CreditEntry.checkout_id == attempt.id)
    )
    return -int(total or 0)


def spread_over(attempt: CheckoutAttempt, invoices: list[Invoice]) -> None:
    """Each invoice of a paid checkout gets its share of the credit the checkout held, in order."""
    left = reserved_for(attempt)
    for invoice in invoices:
        share = min(left, invoice.amount_due)
        invoice.credit_applied = (invoice.credit_applied or 0) + share
        left -= share


def give_back(attempt: CheckoutAttempt, reason: str) -> int:
    """A checkout that won't be paid (declined, refunded) returns the credit it held; returns how much."""
    held = reserved_for(attempt)
    if held <= 0:
        return 0
    move(lock_balance(attempt.user_id, attempt.currency), held, "returned", reason=reason, checkout_id=attempt.id)
    return held


@dataclass(frozen=True)
class Adjustment:
    """Staff's change to a customer's balance: `amount` in the major unit, signed ("5.00", "-2.50")."""

    user_id: uuid.UUID
    currency: str
    amount: str
    reason: str


def parse_amount(raw: str, currency: str) -> int | None:
    """ "5.00" → 500, "-2.5" → -250 (in the currency's minor unit); None when it isn't such an amount."""
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return None
    exponent = minor_exponent(currency)
    if not value.is_finite() or value.as_tuple().exponent < -exponent:  # type: ignore[operator]
        return None
    return int(value.scaleb(exponent))


def adjust(request: Adjustment, actor_id: uuid.UUID) -> CreditEntry:
    """Add to or take from a customer's balance, with a reason; audited. Raises ValidationError."""
    currency = request.currency.strip().upper()
    errors: dict[str, str] = {}
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = "Enter a three-letter currency code, such as USD"
    amount = parse_amount(request.amount, currency or "USD")
    if amount is None or amount == 0:
        errors["amount"] = "Enter an amount such as 5.00 or -5.00"
    elif abs(amount) > 10**12:
        errors["amount"] = "That amount is too large"
    reason = request.reason.strip()
    if not reason:
        errors["reason"] = "Say why the balance changes"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"Keep the reason under {REASON_MAX} characters"
    if errors or amount is None:
        raise ValidationError(errors)
    if db.session.get(User, request.user_id) is None:
        raise NotFound("We couldn't find that user.")
    row = lock_balance(request.user_id, currency)
    if row.balance + amount < 0:
        message = f"The balance is {format_money(row.balance, currency)}: it can't go below zero"
        db.session.rollback()
        raise ValidationError({"amount": message})
    before = row.balance
    entry = move(row, amount, "adjustment", reason=reason, actor_id=actor_id)
    audit.record(
        "credit.adjusted",
        actor_id=actor_id,
        target_type="users",
        target_id=str(request.user_id),
        before={"balance": before, "currency": currency},
        after={
            "balance": row.balance,
            "currency": currency,
            "amount": amount,
            "reason": reason,
            "change": ("+" if amount > 0 else "") + format_money(amount, currency),
            "balance_text": format_money(row.balance, currency),
        },
    )
    db.session.commit()
    return entry
