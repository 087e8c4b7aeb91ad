"""What a customer does to their subscriptions: start a trial, toggle auto-renew, cancel, pause, resume."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.billing import notices
from app.billing.answers import check_answers
from app.billing.services import pauses
from app.billing.services.cart import plan_and_product
from app.billing.states import transition
from app.catalog.schema import Field, fields, has_required_fields
from app.dates import format_date
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import LIVE_STATUSES, Subscription
from app.models.catalog import Plan, Product
from app.models.user import User

ON = frozenset({"on", "true", "1"})
OFF = frozenset({"off", "false", "0"})


class CancelWhen(StrEnum):
    NOW = "now"  # cancelled at once
    PERIOD_END = "period_end"  # keeps access until the period ends


@dataclass
class TrialResult:
    kind: str  # started, needs_answers, refused
    plan: Plan
    product: Product
    subscription: Subscription | None = None
    message: str = ""
    schema_fields: list[Field] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _plan_for_trial(plan_id: uuid.UUID) -> tuple[Plan, Product]:
    plan, product = plan_and_product(plan_id)
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
        ended = trial.ended_at or trial.trial_end or trial.started_at  # trial_end is set: it was a trial
        when = "runs until" if trial.status == "trial" else ("ended on" if ended <= utcnow() else "ends on")
        return (
            f"You already had your free trial of {product.name}: it started on {format_date(trial.started_at)} "
            f"and {when} {format_date(ended)}. There is one trial per product; subscribe to keep using it."
        )
    if any(s.status in LIVE_STATUSES for s in previous):
        return f"You already subscribe to {product.name}, so there is no trial to start."
    return None


def trial_offer(user: User, plan_id: uuid.UUID) -> TrialResult:
    """What starting a trial of this plan takes, read only: "refused" (with why), or "needs_answers" with the
    product's questions (none for a product that asks nothing)."""
    plan, product = _plan_for_trial(plan_id)
    refusal = _refusal(user, plan, product)
    if refusal:
        return TrialResult("refused", plan, product, message=refusal)
    return TrialResult("needs_answers", plan, product, schema_fields=fields(product.product_schema or {}))


def start_trial(user: User, plan_id: uuid.UUID, answers_posted: Mapping[str, str] | None = None) -> TrialResult:
    """Start a free trial of a plan. `answers_posted`: the answers to the product's questions, None when the
    customer has not seen them yet. The result says whether it started, or needs (valid) answers, or is refused."""
    offer = trial_offer(user, plan_id)
    if offer.kind == "refused":
        return offer
    plan, product = offer.plan, offer.product
    schema = product.product_schema or {}
    schema_fields = fields(schema)
    answers: dict[str, Any] = {}
    if schema_fields:
        if has_required_fields(schema) and answers_posted is None:
            return TrialResult("needs_answers", plan, product, schema_fields=schema_fields)
        answers, errors = check_answers(schema, answers_posted or {})
        if errors:
            return TrialResult(
                "needs_answers",
                plan,
                product,
                schema_fields=schema_fields,
                answers=dict(answers_posted or {}),
                errors=errors,
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


def _owned(user: User, sid: uuid.UUID) -> Subscription:
    sub = db.session.scalar(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.id == sid, Subscription.user_id == user.id)
        .with_for_update(of=Subscription)
    )
    if sub is None:
        raise NotFound("We couldn't find that subscription.")
    return sub


def owned(user: User, subscription_id: uuid.UUID) -> Subscription:
    """One of `user`'s subscriptions with its plan and product, read only; NotFound for anyone else's."""
    sub = db.session.scalar(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.id == subscription_id, Subscription.user_id == user.id)
    )
    if sub is None:
        raise NotFound("We couldn't find that subscription.")
    return sub


def _require_live(sub: Subscription) -> None:
    if not sub.is_live:
        raise Conflict(f"Your {sub.product.name} subscription has already ended.")


def set_auto_renew(user: User, subscription_id: uuid.UUID, on: bool) -> Subscription:
    sub = _owned(user, subscription_id)
    _require_live(sub)
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


def cancel(user: User, subscription_id: uuid.UUID, when: CancelWhen) -> tuple[Subscription, str]:
    sub = _owned(user, subscription_id)
    _require_live(sub)
    now = utcnow()
    if when is CancelWhen.NOW or sub.status in ("past_due", "paused"):  # no paid period left to run out
        transition(sub, "cancelled", now=now)
        ends_on, message = now, f"{sub.product.name} is cancelled."
    else:
        sub.cancel_at_period_end = True
        sub.pause_start = sub.pause_end = None  # ending at the period end replaces a pause planned from then
        ends_on = sub.current_period_end or now
        message = f"{sub.product.name} will end on {format_date(ends_on)}. You keep access until then."
    notices.cancelled(sub, sub.product, ends_on)
    audit.record("subscription.cancel", actor_id=user.id, target=sub, after={"when": when.value})
    db.session.commit()
    return sub, message


def pause(user: User, subscription_id: uuid.UUID, length: pauses.PauseLength) -> tuple[Subscription, str]:
    """Pause from the end of the paid period for `length`. Raises Conflict (why it can't be paused) or
    ValidationError (the date), changing nothing."""
    sub = _owned(user, subscription_id)
    message = pauses.schedule(sub, length, utcnow())
    audit.record("subscription.pause", actor_id=user.id, target=sub, after=pauses.audit_record(sub, length))
    db.session.commit()
    return sub, message


def resume(user: User, subscription_id: uuid.UUID) -> tuple[Subscription, str]:
    """Undo a cancellation planned for the period end (it renews as usual, auto-renew on), or end a pause
    (early, or before it starts)."""
    sub = _owned(user, subscription_id)
    _require_live(sub)
    if sub.status == "paused" or sub.pause_scheduled:
        before = {"status": sub.status, "pause_start": str(sub.pause_start), "pause_end": str(sub.pause_end)}
        message = pauses.end(sub, utcnow())
        audit.record("subscription.resume", actor_id=user.id, target=sub, before=before, after={"status": sub.status})
        db.session.commit()
        return sub, message
    if sub.cancel_at_period_end:
        sub.cancel_at_period_end = False
        sub.auto_renew = True
        notices.resumed(sub, sub.product)
        audit.record("subscription.resume", actor_id=user.id, target=sub)
    db.session.commit()
    return sub, f"{sub.product.name} is resumed. It renews on {format_date(sub.current_period_end)}."


def get_for_user(user_id: uuid.UUID, subscription_id: uuid.UUID) -> Subscription:
    """One of the user's subscriptions with its plan and product, read only; another user's is NotFound."""
    sub = db.session.scalar(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.id == subscription_id, Subscription.user_id == user_id)
    )
    if sub is None:
        raise NotFound("We couldn't find that subscription.")
    return sub


def for_user(user_id: uuid.UUID) -> list[Subscription]:
    rows = db.session.scalars(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.user_id == user_id)
        .order_by(Subscription.started_at.desc())
    )
    return sorted(rows, key=lambda s: (not s.is_live,))
