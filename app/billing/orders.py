"""An order: what a checkout recorded before any money moved, and its fulfilment from that record alone.

The snapshot holds the priced lines, the answers, who pays and the card, so an
order can be completed by whichever path learns that its payment succeeded (the
submit itself, the gateway's webhook, reconciliation) without the cart, which may
have changed since. `complete` runs under the payment's row lock (see
settlement.apply_outcome) and moves the attempt out of its open states, so it
happens once. An order that can no longer be honoured (a plan was deleted, the
customer bought the product meanwhile) is refunded in full, and the customer told.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from app import audit, outbox
from app.account.services import BillingDetails, save_billing_details
from app.billing import coupons, credit, notices
from app.billing import invoices as invoice_service
from app.billing.gateway import SavedCard
from app.billing.periods import add_cycle
from app.billing.pricing import CouponTerms, PricedLine
from app.billing.services import payment_methods
from app.billing.states import transition
from app.errors import NotFound
from app.extensions import db
from app.links import path_for

if TYPE_CHECKING:
    from app.billing.answers import Answers
    from app.billing.services.cart import CartView
from app.models.billing import LIVE_STATUSES, Invoice, Subscription, Transaction
from app.models.catalog import Plan, Product
from app.models.checkout import CartItem, CheckoutAttempt
from app.models.user import User
from app.money import format_money

# An attempt still waiting for its outcome.
OPEN = ("charging", "unreached")
# A declined payment that went through after all (a Stripe PaymentIntent confirmed again) still completes its order.
COMPLETABLE = (*OPEN, "declined")


def snapshot(
    user: User,
    view: CartView,
    answers: Answers,
    *,
    card: SavedCard | None = None,
    holder_name: str = "",
    billing: BillingDetails | None = None,
) -> dict[str, Any]:
    """What is being bought, at the reviewed prices, by whom: enough to fulfil or refund it later.
    `billing`: the details given at checkout, which the profile takes once the order is fulfilled."""
    quote = view.quote
    lines = [_line_data(line.priced, answers.get(line.priced.product_id)) for line in view.lines if line.priced]
    return {
        "currency": quote.currency,
        "total": quote.total,
        "bill_to": invoice_service.bill_to(user, billing),
        "billing_given": billing is not None,
        "lines": lines,
        # The promo code applied (its coupon's terms, which the subscriptions it discounts keep for renewals).
        "promo": None if view.promo is None else {**view.promo.coupon.terms(), "code": view.promo.code.code},
        # Each line's invoice id, chosen now so the payment can name its invoices before they exist.
        "invoice_ids": [str(uuid.uuid4()) for _ in lines],
        "card": None
        if card is None
        else {
            "token": card.token,
            "brand": card.brand,
            "last4": card.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "holder_name": holder_name,
        },
    }


def _line_data(line: PricedLine, answers: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "product_id": str(line.product_id),
        "product_name": line.product_name,
        "plan_id": str(line.plan_id),
        "plan_name": line.plan_name,
        "cycle": line.cycle,
        "currency": line.currency,
        "quantity": line.quantity,
        "per_seat": line.per_seat,
        "unit_price": line.unit_price,
        "discount_percent": str(line.discount_percent),
        "fee_percent": str(line.fee_percent),
        "coupon": None if line.coupon is None else line.coupon.as_dict(),
        "answers": answers,
    }


def _coupon(data: dict[str, Any] | None) -> CouponTerms | None:
    return CouponTerms.from_dict(data) if data else None


def priced_lines(attempt: CheckoutAttempt) -> list[tuple[PricedLine, dict[str, Any] | None]]:
    return [
        (
            PricedLine(
                product_id=uuid.UUID(d["product_id"]),
                product_name=d["product_name"],
                plan_id=uuid.UUID(d["plan_id"]),
                plan_name=d["plan_name"],
                cycle=d["cycle"],
                currency=d["currency"],
                quantity=int(d["quantity"]),
                unit_price=int(d["unit_price"]),
                discount_percent=Decimal(d["discount_percent"]),
                fee_percent=Decimal(d["fee_percent"]),
                per_seat=bool(d.get("per_seat", False)),
                coupon=_coupon(d.get("coupon")),
            ),
            d.get("answers"),
        )
        for d in attempt.snapshot.get("lines", [])
    ]


def lock_attempt_of(tx: Transaction) -> CheckoutAttempt | None:
    return db.session.scalar(
        sa.select(CheckoutAttempt)
        .where(CheckoutAttempt.transaction_id == tx.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@dataclass
class Order:
    """An attempt's lines with what they need now: their plans and the customer's live subscriptions (locked)."""

    lines: list[tuple[PricedLine, dict[str, Any] | None]]
    catalog: dict[uuid.UUID, tuple[Plan, Product]]
    live: dict[uuid.UUID, Subscription]

    @property
    def problem(self) -> str | None:
        """Why it can no longer be delivered, or None. A plan retired since is still honoured: it was paid for."""
        for line, _ in self.lines:
            if line.plan_id not in self.catalog:
                return f"the {line.product_name} {line.plan_name} plan no longer exists."
        owned = [
            line.product_name
            for line, _ in self.lines
            if line.product_id in self.live and self.live[line.product_id].status != "trial"
        ]
        if owned:
            return f"you already subscribe to {', '.join(owned)}."
        return None


def load(attempt: CheckoutAttempt, user_id: uuid.UUID) -> Order:
    lines = priced_lines(attempt)
    rows = db.session.execute(
        sa.select(Plan, Product)
        .join(Product, Product.id == Plan.product_id)
        .where(Plan.id.in_([line.plan_id for line, _ in lines]))
    )
    live = db.session.scalars(
        sa.select(Subscription)
        .where(
            Subscription.user_id == user_id,
            Subscription.product_id.in_([line.product_id for line, _ in lines]),
            Subscription.status.in_(LIVE_STATUSES),
        )
        .with_for_update()
    )
    return Order(lines, {plan.id: (plan, product) for plan, product in rows}, {sub.product_id: sub for sub in live})


def fulfil(
    attempt: CheckoutAttempt,
    user: User,
    order: Order,
    *,
    now: datetime,
    billing_method: str,
    label: str,
    due_at: datetime,
) -> list[Invoice]:
    """Create or convert one subscription per line, each with its invoice (numbered, open)."""
    invoices = []
    invoice_ids = attempt.snapshot.get("invoice_ids") or []
    for position, (line, answers) in enumerate(order.lines):
        plan, product = order.catalog[line.plan_id]
        sub = order.live.get(line.product_id)
        end = add_cycle(now, line.cycle)
        if sub is None:
            sub = Subscription(
                user_id=user.id,
                plan_id=line.plan_id,
                product_id=line.product_id,
                status="active",
                started_at=now,
                answers=answers or {},
            )
            db.session.add(sub)
        else:  # a trial converted to a paid plan
            transition(sub, "active", now=now)
            sub.plan_id = line.plan_id
            sub.answers = answers or sub.answers
        sub.quantity, sub.billing_method = line.quantity, billing_method
        promo = attempt.snapshot.get("promo")
        sub.coupon = coupons.for_subscription(promo) if promo and line.coupon is not None else None
        sub.current_period_start, sub.current_period_end = now, end
        sub.auto_renew, sub.cancel_at_period_end = True, False
        db.session.flush()
        invoices.append(
            invoice_service.draft_invoice(
                user=user,
                line=line,
                subscription_id=sub.id,
                method=billing_method,
                label=label,
                period=(now, end),
                checkout_id=attempt.id,
                billed=attempt.snapshot.get("bill_to"),
                invoice_id=uuid.UUID(invoice_ids[position]) if position < len(invoice_ids) else None,
            )
        )
        notices.activated(sub, product, plan)
    invoice_service.finalize(invoices, now=now, due_at=due_at)
    discounted = [invoice for invoice, (line, _) in zip(invoices, order.lines, strict=True) if line.coupon]
    coupons.redeem(attempt, discounted[0].id if discounted else None, now)
    credit.spread_over(attempt, invoices)  # the part of the order the credit balance paid
    if attempt.snapshot.get("billing_given"):  # the details typed at checkout are the profile's now
        billed = attempt.snapshot.get("bill_to") or {}
        save_billing_details(
            user,
            BillingDetails(
                company=billed.get("company", ""),
                address=billed.get("address") or None,
                tax_id=billed.get("tax_id", ""),
            ),
        )
    # Only what was bought leaves the cart: it may have changed since the order was placed.
    bought = [line.product_id for line, _ in order.lines]
    db.session.execute(sa.delete(CartItem).where(CartItem.user_id == user.id, CartItem.product_id.in_(bought)))
    close(attempt, "succeeded", {"redirect": path_for("billing.checkout_complete", attempt_id=attempt.id)}, now)
    audit.record(
        "checkout.completed",
        actor_id=user.id,
        target=attempt,
        after={
            "transaction": str(attempt.transaction_id) if attempt.transaction_id else None,
            "method": attempt.payment_method,
        },
    )
    return invoices


def complete(tx: Transaction, now: datetime) -> list[Invoice] | None:
    """The order's payment succeeded: fulfil it, or refund it. None if it was already done.

    Called by settlement with the transaction row locked.
    """
    attempt = lock_attempt_of(tx)
    if attempt is None or attempt.status not in COMPLETABLE:
        return None
    user = db.session.get(User, attempt.user_id)
    if user is None:  # an account is never deleted while it has an order (the foreign key)
        raise NotFound("We couldn't find the account of this order.")
    order = load(attempt, user.id)
    if order.problem:
        _refund(attempt, tx, order.problem, now)
        return []
    card = attempt.snapshot.get("card")
    label = "Card"
    if card and "token" in card:  # a declined attempt's token is gone (close): its card isn't kept for renewals
        saved = SavedCard(
            token=card["token"],
            brand=card["brand"],
            last4=card["last4"],
            exp_month=card["exp_month"],
            exp_year=card["exp_year"],
        )
        method = payment_methods.save(user, saved, holder_name=card.get("holder_name", ""), gateway=tx.gateway)
        tx.payment_method_id, label = method.id, method.label
    invoices = fulfil(attempt, user, order, now=now, billing_method="card", label=label, due_at=now)
    for invoice in invoices:
        invoice.transaction_id = tx.id
    return invoices


def close(attempt: CheckoutAttempt, status: str, result: dict[str, Any], now: datetime) -> None:
    """The attempt's outcome, replayed to any retry. The card token is dropped: only an open attempt needs it
    (to charge again after a call that got no answer); a card kept for renewals is a payment method."""
    attempt.status, attempt.result, attempt.completed_at = status, result, now
    card = attempt.snapshot.get("card")
    if card and "token" in card:
        attempt.snapshot = {**attempt.snapshot, "card": {k: v for k, v in card.items() if k != "token"}}


def declined(tx: Transaction, now: datetime) -> None:
    """The order's payment failed (declined, or it never reached the gateway): nothing is delivered."""
    attempt = lock_attempt_of(tx)
    if attempt is None or attempt.status not in OPEN:
        return
    coupons.release(attempt.id)
    close(
        attempt, "declined", {"message": tx.failure_message or "Your card was declined.", "code": tx.failure_code}, now
    )
    credit.give_back(attempt, "Checkout declined: the credit it held is back")
    audit.record("checkout.declined", actor_id=attempt.user_id, target=tx, after={"code": tx.failure_code})


def _refund(attempt: CheckoutAttempt, charge: Transaction, reason: str, now: datetime) -> None:
    """Give the whole payment back: a pending refund, sent by a job after this commits."""
    refund = Transaction(
        id=uuid.uuid4(),
        user_id=charge.user_id,
        kind="refund",
        purpose="refund",
        status="pending",
        amount=charge.amount,
        currency=charge.currency,
        gateway=charge.gateway,
        parent_id=charge.id,
        idempotency_key=f"refund:checkout:{attempt.id}",
    )
    db.session.add(refund)
    db.session.flush()
    coupons.release(attempt.id)
    outbox.enqueue("jobs.billing.send_refund", str(refund.id), queue="high")
    credit.give_back(attempt, f"Order not completed: {reason}")
    total = format_money(charge.amount, charge.currency)
    close(
        attempt,
        "refunded",
        {
            "message": f"We couldn't complete this order: {reason} "
            f"Your payment of {total} is being refunded to your card."
        },
        now,
    )
    notices.order_refunded(attempt.user_id, total=total, reason=reason)
    audit.record(
        "checkout.refunded",
        actor_id=attempt.user_id,
        target=attempt,
        after={"refund": str(refund.id), "reason": reason},
    )
