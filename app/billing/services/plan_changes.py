"""Changing a subscription's plan: the preview (what is credited, charged and due now), then exactly that.

The preview is computed for one instant (`at`) and signed with SECRET_KEY together with everything it was
computed from (the plans' prices and discounts, the period, the fee): the submit recomputes it for the same
instant and applies it only if the signature still matches, so the customer pays what they saw, and a price
change in between shows the new preview instead. A preview is good for PREVIEW_MINUTES.

- An upgrade (more per period, same cycle) applies at once: a proration invoice for the difference is numbered
  and a pending payment committed before the card on file is charged; settlement applies the change when the
  payment succeeds (app/billing/plan_changes.py), and a decline changes nothing.
- A downgrade waits for the period end (a scheduled change, applied by the lifecycle run at renewal, which the
  customer can cancel), or, when the product says so, applies at once with the credit as a credit note.
- Another billing cycle starts a new period now, its price less the credit for the unused time.

Seats follow the same rules: on a per-seat plan the line is unit price × seats, so more seats cost more per
period (an upgrade, charged now) and fewer seats less (a downgrade, at the product's downgrade timing). A
change may keep the plan and change only the seats.

Everything runs under the customer's checkout lock (app/billing/locks.py), so a double submit waits for the
first and then finds its result by the idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app import audit
from app.billing import credit, locks, notices
from app.billing import invoices as invoice_service
from app.billing import plan_changes as changes
from app.billing.gateway import GatewayUnavailable, get_gateway
from app.billing.pricing import price_line, seats_problem
from app.billing.proration import ChangeKind, Proration, kind_of, prorate
from app.billing.services.checkout import valid_key
from app.billing.settlement import apply_outcome, lock_transaction
from app.catalog.fees import current_percent
from app.dates import format_date
from app.errors import FORM, Conflict, ExternalServiceError, NotFound, PaymentDeclined, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, PaymentMethod, PlanChange, Subscription, Transaction
from app.models.catalog import Plan, Product
from app.models.user import User
from app.money import format_money

log = logging.getLogger(__name__)

PREVIEW_MINUTES = 30
WAITING = (
    "Your last change of plan is waiting for the payment service to confirm its payment. "
    "Try again once it is settled (within about 15 minutes)."
)
OUT_OF_DATE = "This preview is out of date. Check the amounts below and confirm again."
UNREACHED = (
    "We couldn't reach the payment service. Your plan changes as soon as it confirms the payment; "
    "you won't be charged twice."
)


@dataclass(frozen=True)
class Preview:
    """A change as the customer sees it before confirming. `effective`: "now" or "period_end"."""

    subscription: Subscription
    product: Product
    current: Plan
    target: Plan
    quantity: int  # the seats after the change (1 on a plan not priced per seat)
    proration: Proration
    effective: str
    fingerprint: str
    renews_on: datetime
    renewal_total: int
    at: datetime  # the instant the preview is computed for (the submit recomputes it for this same instant)

    @property
    def kind(self) -> ChangeKind:
        return self.proration.kind

    @property
    def currency(self) -> str:
        return self.target.currency

    @property
    def scheduled(self) -> bool:
        return self.effective == "period_end"

    @property
    def seats_only(self) -> bool:
        """The same plan with another number of seats."""
        return self.target.id == self.current.id


@dataclass(frozen=True)
class ChangeRequest:
    user_id: uuid.UUID
    subscription_id: uuid.UUID
    plan_id: uuid.UUID
    quantity: int | None  # None: keep the seats (1 on a plan not priced per seat)
    idempotency_key: str
    fingerprint: str
    at: datetime | None  # the instant the preview was computed for


@dataclass(frozen=True)
class ChangeResult:
    change: PlanChange
    message: str
    confirmed: bool = True


class PreviewAgain(Conflict):
    """The preview no longer holds (prices, plan or period changed, or it is too old): here is the new one."""

    def __init__(self, message: str, preview: Preview):
        super().__init__(message)
        self.preview = preview


def _owned(user_id: uuid.UUID, subscription_id: uuid.UUID, *, lock: bool) -> Subscription:
    query = (
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.id == subscription_id, Subscription.user_id == user_id)
    )
    if lock:
        query = query.with_for_update(of=Subscription).execution_options(populate_existing=True)
    sub = db.session.scalar(query)
    if sub is None:
        raise NotFound("We couldn't find that subscription.")
    return sub


def _target(sub: Subscription, plan_id: uuid.UUID | None, quantity: int | None) -> tuple[Plan, int]:
    """The plan and seats to change to; `quantity` None keeps the seats where the plan allows them."""
    plan = db.session.get(Plan, plan_id) if plan_id is not None else None
    if plan is None:
        raise ValidationError({"plan_id": "Choose one of the plans listed."})
    if plan.product_id != sub.product_id:
        raise ValidationError({"plan_id": f"That plan is not a plan of {sub.product.name}: choose one of its plans."})
    if quantity is None:
        quantity = min(max(sub.quantity, plan.min_seats), plan.max_seats) if plan.per_seat else 1
    problem = seats_problem(plan, quantity)
    if problem:
        raise ValidationError({"quantity": problem})
    if plan.id == sub.plan_id and quantity == sub.quantity:
        if plan.per_seat:
            raise ValidationError(
                {"quantity": f"You already have {quantity} seats on {plan.name}: choose another number."}
            )
        raise ValidationError({"plan_id": f"You are already on the {plan.name} plan."})
    if not plan.is_active and plan.id != sub.plan_id:  # a retired plan still takes seat changes from its own
        raise ValidationError({"plan_id": f"The {plan.name} plan is no longer offered."})
    if plan.currency != sub.plan.currency:
        raise ValidationError(
            {"plan_id": f"The {plan.name} plan is billed in {plan.currency}, not {sub.plan.currency}."}
        )
    return plan, quantity


def _changeable(sub: Subscription) -> None:
    if not sub.is_live:
        raise Conflict(f"Your {sub.product.name} subscription has ended.")
    if sub.status == "past_due":
        raise Conflict(f"The last payment for {sub.product.name} failed: update your card before changing plan.")
    if sub.cancel_at_period_end:
        raise Conflict(f"{sub.product.name} is set to end: choose “Keep my subscription” before changing plan.")


def _paid(sub: Subscription) -> int:
    """What the current plan line cost for this period, net of its discount: the period's paid invoice, if it
    billed this plan and these seats; otherwise (they changed mid-period) the plan's price now."""
    invoice = db.session.scalar(
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(
            Invoice.subscription_id == sub.id,
            Invoice.kind == "invoice",
            Invoice.status == "paid",
            Invoice.period_start == sub.current_period_start,
        )
    )
    if invoice is not None and any(
        line.kind == "plan" and line.plan_id == sub.plan_id and line.quantity == sub.quantity for line in invoice.lines
    ):
        return invoice.subtotal - invoice.discount
    return price_line(sub.plan, sub.product, sub.quantity, current_percent()).net


def _sign(data: list[object]) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, json.dumps(data, default=str).encode(), hashlib.sha256).hexdigest()


def _preview(sub: Subscription, plan: Plan, quantity: int, at: datetime) -> Preview:
    fee = current_percent()
    old_line = price_line(sub.plan, sub.product, sub.quantity, fee)
    new_line = price_line(plan, sub.product, quantity, fee)
    start = sub.current_period_start or sub.started_at
    end = sub.current_period_end or at
    kind = kind_of(old_line.net, sub.plan.billing_cycle, new_line.net, plan.billing_cycle, at)
    effective = "period_end" if kind is ChangeKind.DOWNGRADE and sub.product.downgrade_timing != "now" else "now"
    if sub.status == "trial":  # nothing was paid and nothing is due until the trial ends: switch as is
        effective = "now"
        paid, new_net, when = 0, 0, at
        if kind is ChangeKind.CYCLE:  # the trial keeps its end; the first charge bills the new cycle from there
            kind = ChangeKind.UPGRADE if new_line.net > old_line.net else ChangeKind.DOWNGRADE
    else:
        paid, new_net, when = _paid(sub), new_line.net, (end if effective == "period_end" else at)
    proration = prorate(
        at=when,
        period_start=start,
        period_end=end,
        paid=paid,
        new_net=new_net,
        old_cycle=sub.plan.billing_cycle,
        new_cycle=plan.billing_cycle if sub.status != "trial" else sub.plan.billing_cycle,
        fee_percent=fee,
        kind=kind,
    )
    renews_on = proration.new_period_end if kind is ChangeKind.CYCLE else end
    signed = [
        str(sub.id),
        str(sub.plan_id),
        str(plan.id),
        sub.status,
        start.isoformat(),
        end.isoformat(),
        at.isoformat(),
        paid,
        new_line.unit_price,
        str(new_line.discount_percent),
        sub.quantity,
        quantity,
        str(fee),
        effective,
        proration.credit,
        proration.charge,
    ]
    return Preview(
        sub, sub.product, sub.plan, plan, quantity, proration, effective, _sign(signed), renews_on, new_line.total, at
    )


def preview(user: User, subscription_id: uuid.UUID, plan_id: uuid.UUID | None, quantity: int | None = None) -> Preview:
    """What switching to `plan_id` with `quantity` seats now would cost and when it would take effect (read
    only); `quantity` None keeps the seats."""
    sub = _owned(user.id, subscription_id, lock=False)
    _changeable(sub)
    plan, seats = _target(sub, plan_id, quantity)
    return _preview(sub, plan, seats, utcnow().replace(microsecond=0))


def options(user: User, subscription_id: uuid.UUID) -> tuple[Subscription, list[Plan], PlanChange | None]:
    """The plans this subscription may switch to (the product's other active plans in its currency), and the
    change scheduled for the period end, if any."""
    sub = _owned(user.id, subscription_id, lock=False)
    plans = db.session.scalars(
        sa.select(Plan)
        .where(
            Plan.product_id == sub.product_id,
            Plan.is_active.is_(True),
            Plan.id != sub.plan_id,
            Plan.currency == sub.plan.currency,
        )
        .order_by(Plan.sort_order, Plan.price)
    )
    return sub, list(plans), scheduled_for(sub.id)


def scheduled_for(subscription_id: uuid.UUID) -> PlanChange | None:
    return db.session.scalar(
        sa.select(PlanChange)
        .options(selectinload(PlanChange.to_plan))
        .where(PlanChange.subscription_id == subscription_id, PlanChange.status == "scheduled")
    )


def scheduled_by_subscription(subscription_ids: list[uuid.UUID]) -> dict[uuid.UUID, PlanChange]:
    """The scheduled change of each of these subscriptions that has one (My subscriptions shows them)."""
    if not subscription_ids:
        return {}
    rows = db.session.scalars(
        sa.select(PlanChange)
        .options(selectinload(PlanChange.to_plan))
        .where(PlanChange.subscription_id.in_(subscription_ids), PlanChange.status == "scheduled")
    )
    return {row.subscription_id: row for row in rows}


def _by_key(key: str) -> PlanChange | None:
    return db.session.scalar(
        sa.select(PlanChange).where(PlanChange.idempotency_key == key).execution_options(populate_existing=True)
    )


def change(request: ChangeRequest) -> ChangeResult:
    """Apply a previewed change, once per key. Raises ValidationError, NotFound, Conflict (PreviewAgain with the
    new preview), PaymentDeclined (nothing changed), ExternalServiceError (the gateway did not answer)."""
    if not valid_key(request.idempotency_key):
        raise ValidationError({FORM: OUT_OF_DATE})
    user = db.session.get(User, request.user_id)
    if user is None:
        raise NotFound("We couldn't find your account.")
    try:
        with locks.checkout_lock(user.id):
            return _change(user, request)
    except locks.CheckoutBusy:
        db.session.rollback()
        raise Conflict("Another payment of yours is still being processed. Try again in a moment.") from None


def _change(user: User, request: ChangeRequest) -> ChangeResult:
    existing = _by_key(request.idempotency_key)
    if existing is not None:
        db.session.rollback()
        return _outcome(existing, user.id, request.subscription_id)
    sub = _owned(user.id, request.subscription_id, lock=True)
    _changeable(sub)
    plan, quantity = _target(sub, request.plan_id, request.quantity)
    if db.session.scalar(
        sa.select(PlanChange.id).where(PlanChange.subscription_id == sub.id, PlanChange.status == "charging")
    ):
        db.session.rollback()
        raise Conflict(WAITING)
    now = utcnow()
    at = request.at
    fresh = _preview(sub, plan, quantity, now.replace(microsecond=0))
    if at is None or at > now or now - at > timedelta(minutes=PREVIEW_MINUTES):
        db.session.rollback()
        raise PreviewAgain(OUT_OF_DATE, fresh)
    shown = _preview(sub, plan, quantity, at)
    if not hmac.compare_digest(shown.fingerprint, request.fingerprint):
        db.session.rollback()
        raise PreviewAgain("The prices or your subscription changed since the preview. Check the new amounts.", fresh)
    replaced = scheduled_for(sub.id)
    if replaced is not None:
        replaced.status = "cancelled"
        db.session.flush()  # frees the subscription's one open change before the new one is added
    p = shown.proration
    record = PlanChange(
        id=uuid.uuid4(),
        user_id=user.id,
        subscription_id=sub.id,
        from_plan_id=sub.plan_id,
        to_plan_id=plan.id,
        from_quantity=sub.quantity,
        to_quantity=quantity,
        kind=p.kind.value,
        status="scheduled" if shown.scheduled else "charging",
        idempotency_key=request.idempotency_key,
        fingerprint=shown.fingerprint,
        previewed_at=at,
        effective_at=p.period_end if shown.scheduled else now,
        currency=plan.currency,
        credit=p.credit,
        charge=p.charge,
        fee=p.fee,
        total=p.total,
        new_period_start=p.new_period_start,
        new_period_end=p.new_period_end,
    )
    db.session.add(record)
    if shown.scheduled:
        return _schedule(record, sub, plan, replaced)
    if p.due_now == 0:
        return _apply_now(record, sub, plan, shown, user, now)
    return _charge(record, sub, plan, shown, user, now)


def _schedule(record: PlanChange, sub: Subscription, plan: Plan, replaced: PlanChange | None) -> ChangeResult:
    notices.plan_changed(sub, sub.product, sub.plan, plan, record.effective_at, scheduled=True)
    audit.record(
        "subscription.plan_change_scheduled",
        actor_id=record.user_id,
        target=sub,
        before={"plan": sub.plan.name, "replaced": str(replaced.id) if replaced else None},
        after={
            "plan": plan.name,
            "quantity": record.to_quantity,
            "on": record.effective_at.isoformat(),
            "change": str(record.id),
        },
    )
    db.session.commit()
    return ChangeResult(record, _message(record, sub.product, plan))


def _apply_now(
    record: PlanChange, sub: Subscription, plan: Plan, shown: Preview, user: User, now: datetime
) -> ChangeResult:
    """Nothing to charge (a trial, a downgrade at once, a credit covering a new cycle): switch now; a credit left
    over goes to the customer's credit balance, with a credit note saying what it is for."""
    p = shown.proration
    if p.credited:
        note = changes.proration_document(record, p, user, sub.plan, plan, method="card", label="Credit balance")
        invoice_service.finalize([note], now=now)
        record.invoice_id = note.id
        credit.add_credit(
            user.id,
            note.currency,
            note.total,
            "downgrade",
            reason=f"Unused time, {note.number}",
            credit_note_id=note.id,
        )
        invoice_service.mark_paid(note, now=now)  # credited in full, to the balance
    changes.apply(record, sub, plan, now)
    db.session.commit()
    return ChangeResult(record, _message(record, sub.product, plan))


def _paid_by_credit(
    record: PlanChange, sub: Subscription, plan: Plan, shown: Preview, user: User, now: datetime
) -> ChangeResult:
    """The credit balance pays the whole proration invoice: no card, no gateway; the change applies now."""
    invoice = changes.proration_document(
        record, shown.proration, user, sub.plan, plan, method="card", label="Credit balance"
    )
    invoice_service.finalize([invoice], now=now)
    credit.apply_to_invoice(invoice)
    invoice_service.mark_paid(invoice, now=now)
    notices.receipt(invoice, paid_on=now)
    record.invoice_id = invoice.id
    changes.apply(record, sub, plan, now)
    db.session.commit()
    return ChangeResult(record, _message(record, sub.product, plan))


def _charge(
    record: PlanChange, sub: Subscription, plan: Plan, shown: Preview, user: User, now: datetime
) -> ChangeResult:
    if 0 < record.total <= credit.lock_balance(user.id, record.currency).balance:
        return _paid_by_credit(record, sub, plan, shown, user, now)
    if sub.billing_method != "card":
        db.session.rollback()
        raise Conflict("This subscription is paid by bank transfer: a change with a payment due now needs a card.")
    card = db.session.scalar(
        sa.select(PaymentMethod).where(PaymentMethod.user_id == user.id, PaymentMethod.is_default.is_(True))
    )
    if card is None:
        db.session.rollback()
        raise Conflict("There is no card on file to pay the difference: add one on the payment method page first.")
    gateway = get_gateway()
    invoice = changes.proration_document(record, shown.proration, user, sub.plan, plan, method="card", label=card.label)
    invoice_service.finalize([invoice], now=now)
    credit.apply_to_invoice(invoice)  # the balance pays first; the card what is left
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=user.id,
        subscription_id=sub.id,
        kind="charge",
        purpose="plan_change",
        status="pending",
        amount=invoice.amount_due,
        currency=invoice.currency,
        gateway=gateway.name,
        idempotency_key=f"plan_change:{record.id}",
        payment_method_id=card.id,
    )
    db.session.add(tx)
    db.session.flush()
    invoice.transaction_id, record.invoice_id, record.transaction_id = tx.id, invoice.id, tx.id
    audit.record(
        "subscription.plan_change_charging",
        actor_id=user.id,
        target=sub,
        after={"plan": plan.name, "invoice": invoice.number, "amount": invoice.total, "change": str(record.id)},
    )
    call = (tx.id, record.id, invoice.amount_due, invoice.currency, card.token, tx.idempotency_key)
    description = f"{sub.product.name}: switch to {changes.plan_label(plan, record.to_quantity)}"
    db.session.commit()  # the invoice and the pending payment exist before any money moves
    tx_id, change_id, amount, currency, token, key = call
    try:
        result = gateway.charge(
            amount=amount,
            currency=currency,
            token=token,
            idempotency_key=key,
            off_session=False,
            description=description,
        )
    except GatewayUnavailable:  # the payment stays pending: reconciliation settles it with the gateway's answer
        raise ExternalServiceError(UNREACHED) from None
    try:
        locked = lock_transaction(Transaction.id == tx_id)
        if locked is None:
            raise NotFound("We couldn't find that payment.")
        locked.gateway_reference = locked.gateway_reference or result.reference
        apply_outcome(locked, result.status, failure_code=result.failure_code, message=result.message, now=utcnow())
        db.session.commit()
    except sa.exc.DBAPIError:
        log.exception(
            "plan change %s: charged %s but could not settle; reconciliation will", change_id, result.reference
        )
        db.session.rollback()
        return ChangeResult(_reload(change_id), UNREACHED, confirmed=False)
    return _outcome(_reload(change_id), user.id, sub.id)


def _reload(change_id: uuid.UUID) -> PlanChange:
    row = db.session.get(PlanChange, change_id, populate_existing=True)
    if row is None:
        raise NotFound("We couldn't find that plan change.")
    return row


def _outcome(record: PlanChange, user_id: uuid.UUID, subscription_id: uuid.UUID) -> ChangeResult:
    """The result of a recorded change (a double submit gets the first one's); a declined one raises."""
    if record.user_id != user_id or record.subscription_id != subscription_id:
        raise Conflict("This change was already submitted for another subscription. Preview it again.")
    if record.status == "declined":
        raise PaymentDeclined(f"Your plan was not changed: {record.message}")
    if record.status == "charging":
        return ChangeResult(record, UNREACHED, confirmed=False)
    product = db.session.scalar(
        sa.select(Product)
        .join(Subscription, Subscription.product_id == Product.id)
        .where(Subscription.id == record.subscription_id)
    )
    plan = db.session.get(Plan, record.to_plan_id)
    if product is None or plan is None:
        raise NotFound("We couldn't find that plan.")
    return ChangeResult(record, _message(record, product, plan))


def _message(record: PlanChange, product: Product, plan: Plan) -> str:
    name = changes.plan_label(plan, record.to_quantity)
    if record.status == "scheduled":
        return (
            f"{product.name} switches to {name} on {format_date(record.effective_at)}, when it renews. "
            "Until then nothing changes; you can cancel the switch."
        )
    if record.status == "cancelled":
        return f"The switch of {product.name} to {name} is cancelled."
    if record.total < 0:
        return (
            f"{product.name} is now on {name}. The unused time, {format_money(-record.total, record.currency)}, "
            "is in your credit balance: it pays your next invoices before your card is charged."
        )
    return f"{product.name} is now on {name}."


def cancel_scheduled(user: User, subscription_id: uuid.UUID) -> tuple[Subscription, str]:
    """Cancel the switch scheduled for the period end: the subscription renews on its plan."""
    sub = _owned(user.id, subscription_id, lock=True)
    record = scheduled_for(sub.id)
    if record is None:
        db.session.rollback()
        raise Conflict(f"{sub.product.name} has no plan change scheduled.")
    record.status = "cancelled"
    audit.record(
        "subscription.plan_change_cancelled",
        actor_id=user.id,
        target=sub,
        after={"change": str(record.id), "plan": record.to_plan.name},
    )
    message = (
        _message(record, sub.product, record.to_plan) + f" It renews on {changes.plan_label(sub.plan, sub.quantity)}."
    )
    db.session.commit()
    return sub, message
