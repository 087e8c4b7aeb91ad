"""What a customer does to their subscriptions: start a trial, toggle auto-renew, cancel, resume."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.billing import notices
from app.billing.answers import check_answers
from app.billing.cart import parse_uuid
from app.billing.states import transition
from app.catalog.schema import Field, fields, has_required_fields
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import LIVE_STATUSES, Subscription
from app.models.catalog import Plan, Product
from app.models.user import User
from app.templating import format_date


@dataclass
class TrialResult:
    kind: str  # started, needs_answers, refused
    plan: Plan
    product: Product
    subscription: Subscription | None = None
    message: str = ""
    schema_fields: list[Field] = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _plan_for_trial(plan_id_raw) -> tuple[Plan, Product]:
    row = db.session.execute(
        sa.select(Plan, Product).join(Product, Product.id == Plan.product_id).where(Plan.id == parse_uuid(plan_id_raw))
    ).first()
    if row is None:
        raise NotFound("That plan doesn't exist. Pick it again from the catalog.")
    plan, product = row
    if not plan.is_active or not product.is_active:
        raise Conflict(f"The {product.name} {plan.name} plan is no longer offered.")
    if plan.trial_days <= 0:
        raise Conflict(f"The {product.name} {plan.name} plan has no free trial.")
    return plan, product


def _refusal(user: User, plan: Plan, product: Product) -> str | None:
    previous = db.session.scalars(
        sa.select(Subscription)
        .where(Subscription.user_id == user.id, Subscription.product_id == product.id)
        .order_by(Subscription.started_at)
    ).all()
    trial = next((s for s in previous if s.trial_end is not None), None)
    if trial is not None:
        ended = trial.ended_at or trial.trial_end
        when = "runs until" if trial.status == "trial" else ("ended on" if ended <= utcnow() else "ends on")
        return (
            f"You already had your free trial of {product.name}: it started on {format_date(trial.started_at)} "
            f"and {when} {format_date(ended)}. There is one trial per product; subscribe to keep using it."
        )
    if any(s.status in LIVE_STATUSES for s in previous):
        return f"You already subscribe to {product.name}, so there is no trial to start."
    return None


def start_trial(user: User, form) -> TrialResult:
    plan, product = _plan_for_trial(form.get("plan_id"))
    refusal = _refusal(user, plan, product)
    if refusal:
        return TrialResult("refused", plan, product, message=refusal)
    schema = product.product_schema or {}
    schema_fields = fields(schema)
    answers: dict = {}
    if schema_fields:
        if has_required_fields(schema) and not form.get("answers_submitted"):
            return TrialResult("needs_answers", plan, product, schema_fields=schema_fields)
        answers, errors = check_answers(schema, form)
        if errors:
            return TrialResult(
                "needs_answers", plan, product, schema_fields=schema_fields, answers=dict(form), errors=errors
            )
    now = utcnow()
    end = now + timedelta(days=plan.trial_days)
    sub = Subscription(
        user_id=user.id,
        plan_id=plan.id,
        product_id=product.id,
        status="trial",
        started_at=now,
        current_period_start=now,
        current_period_end=end,
        trial_end=end,
        answers=answers,
    )
    db.session.add(sub)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent start won the one-trial index
        db.session.rollback()
        return TrialResult(
            "refused",
            plan,
            product,
            message=_refusal(user, plan, product) or f"You already had your free trial of {product.name}.",
        )
    notices.trial_started(sub, product, plan)
    audit.record("subscription.trial_started", actor_id=user.id, target=sub, after={"plan": plan.name})
    db.session.commit()
    return TrialResult(
        "started",
        plan,
        product,
        subscription=sub,
        message=f"Your {product.name} trial has started. It runs until {format_date(end)}.",
    )


def _owned(user: User, subscription_id) -> Subscription:
    try:
        sid = uuid.UUID(str(subscription_id))
    except ValueError:
        raise NotFound("We couldn't find that subscription.") from None
    sub = db.session.scalar(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.id == sid, Subscription.user_id == user.id)
        .with_for_update(of=Subscription)
    )
    if sub is None:
        raise NotFound("We couldn't find that subscription.")
    return sub


def _require_live(sub: Subscription) -> None:
    if not sub.is_live:
        raise Conflict(f"Your {sub.product.name} subscription has already ended.")


def set_auto_renew(user: User, subscription_id, value) -> Subscription:
    sub = _owned(user, subscription_id)
    _require_live(sub)
    if str(value).lower() not in {"on", "off", "true", "false", "1", "0"}:
        raise ValidationError({"auto_renew": "Choose on or off."})
    on = str(value).lower() in {"on", "true", "1"}
    if sub.auto_renew != on:
        audit.record(
            "subscription.auto_renew",
            actor_id=user.id,
            target=sub,
            before={"auto_renew": sub.auto_renew},
            after={"auto_renew": on},
        )
        sub.auto_renew = on
    db.session.commit()
    return sub


def cancel(user: User, subscription_id, when: str) -> tuple[Subscription, str]:
    """when = "now" (cancelled at once) or "period_end" (keeps access until the period ends)."""
    if when not in ("now", "period_end"):
        raise ValidationError({"when": "Choose to cancel now or at the end of the period."})
    sub = _owned(user, subscription_id)
    _require_live(sub)
    now = utcnow()
    if when == "now" or sub.status == "past_due":
        transition(sub, "cancelled", now=now)
        ends_on, message = now, f"{sub.product.name} is cancelled."
    else:
        sub.cancel_at_period_end = True
        ends_on = sub.current_period_end or now
        message = f"{sub.product.name} will be cancelled on {format_date(ends_on)}. You keep access until then."
    notices.cancelled(sub, sub.product, ends_on)
    audit.record("subscription.cancel", actor_id=user.id, target=sub, after={"when": when})
    db.session.commit()
    return sub, message


def resume(user: User, subscription_id) -> Subscription:
    """Undo a cancellation planned for the period end."""
    sub = _owned(user, subscription_id)
    _require_live(sub)
    if sub.cancel_at_period_end:
        sub.cancel_at_period_end = False
        audit.record("subscription.resume", actor_id=user.id, target=sub)
    db.session.commit()
    return sub


def for_user(user_id: uuid.UUID) -> list[Subscription]:
    rows = db.session.scalars(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.user_id == user_id)
        .order_by(Subscription.started_at.desc())
    )
    return sorted(rows, key=lambda s: (not s.is_live,))
