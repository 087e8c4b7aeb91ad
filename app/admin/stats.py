"""The business in figures, from SQL aggregates (used by the dashboard and `flask stats`)."""
from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Subscription
from app.models.catalog import Plan
from app.models.user import User

PAYING = ("active", "past_due")


def user_figures() -> dict:
    week_ago = utcnow() - timedelta(days=7)
    total, new = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(User.created_at >= week_ago)).select_from(User)
    ).one()
    return {"users_total": total, "users_new_this_week": new}


def subscription_figures() -> dict:
    now = utcnow()
    row = db.session.execute(
        sa.select(
            sa.func.count().filter(Subscription.status == "active"),
            sa.func.count().filter(Subscription.status == "trial"),
            sa.func.count().filter(Subscription.status == "past_due"),
            # Trials that have ended, and of those the ones now paying.
            sa.func.count().filter(Subscription.trial_end.is_not(None), Subscription.trial_end <= now),
            sa.func.count().filter(Subscription.trial_end.is_not(None), Subscription.trial_end <= now,
                                   Subscription.status.in_(PAYING)),
        ).select_from(Subscription)
    ).one()
    active, trials, past_due, trials_ended, converted = row
    conversion = (Decimal(converted) * 100 / Decimal(trials_ended)).quantize(Decimal("0.1"), ROUND_HALF_UP) \
        if trials_ended else None
    return {"subscriptions_active": active, "subscriptions_trial": trials, "subscriptions_past_due": past_due,
            "trials_ended": trials_ended, "trials_converted": converted, "trial_conversion_percent": conversion}


def mrr_by_currency() -> dict[str, int]:
    """Monthly recurring revenue in minor units: paying subscriptions' final prices, monthly-normalized
    (weekly × 52/12, quarterly ÷ 3, half-yearly ÷ 6, yearly ÷ 12)."""
    final_price = Plan.price - sa.func.round(Plan.price * Plan.discount_percent / 100)
    monthly = sa.case(
        (Plan.billing_cycle == "weekly", final_price * 52 / 12.0),
        (Plan.billing_cycle == "quarterly", final_price / 3.0),
        (Plan.billing_cycle == "half_yearly", final_price / 6.0),
        (Plan.billing_cycle == "yearly", final_price / 12.0),
        else_=final_price,
    )
    rows = db.session.execute(
        sa.select(Plan.currency, sa.func.round(sa.func.sum(monthly)))
        .select_from(Subscription).join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.status.in_(PAYING)).group_by(Plan.currency).order_by(Plan.currency)
    ).all()
    return {currency: int(total or 0) for currency, total in rows}


def all_figures() -> dict:
    return {**user_figures(), **subscription_figures(), "mrr": mrr_by_currency()}
