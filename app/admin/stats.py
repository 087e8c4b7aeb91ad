"""The business in figures, from SQL aggregates (used by the dashboard and `flask stats`)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Subscription
from app.models.catalog import Plan
from app.models.user import User

PAYING = ("active", "past_due")


def user_figures() -> dict[str, Any]:
    week_ago = utcnow() - timedelta(days=7)
    total, new = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(User.created_at >= week_ago)).select_from(User)
    ).one()
    return {"users_total": total, "users_new_this_week": new}


def subscription_figures() -> dict[str, Any]:
    now = utcnow()
    row = db.session.execute(
        sa.select(
            sa.func.count().filter(Subscription.status == "active"),
            sa.func.count().filter(Subscription.status == "trial"),
            sa.func.count().filter(Subscription.status == "past_due"),
            # Trials that have ended, and of those the ones now paying.
            sa.func.count().filter(Subscription.trial_end.is_not(None), Subscription.trial_end <= now),
            sa.func.count().filter(
                Subscription.trial_end.is_not(None), Subscription.trial_end <= now, Subscription.status.in_(PAYING)
            ),
        ).select_from(Subscription)
    ).one()
    active, trials, past_due, trials_ended, converted = row
    conversion = (
        (Decimal(converted) * 100 / Decimal(trials_ended)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if trials_ended
        else None
    )
    return {
        "subscriptions_active": active,
        "subscriptions_trial": trials,
        "subscriptions_past_due": past_due,
        "trials_ended": trials_ended,
        "trials_converted": converted,
        "trial_conversion_percent": conversion,
    }


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
        .select_from(Subscription)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.status.in_(PAYING))
        .group_by(Plan.currency)
        .order_by(Plan.currency)
    ).all()
    return {currency: int(total or 0) for currency, total in rows}


def all_figures() -> dict[str, Any]:
    return {**user_figures(), **subscription_figures(), "mrr": mrr_by_currency()}


def _month_key(column: Any) -> sa.ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp, in SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.date_trunc("month", sa.func.timezone("UTC", column)), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _months_back(now: datetime, count: int) -> list[str]:
    year, month = now.year, now.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def revenue_by_month(months: int = 12) -> dict[str, list[tuple[str, int]]]:
    """Net revenue per currency and month for the last `months` months (this one included), oldest first:
    paid invoices (by the day they were paid) minus credit notes (by the day they were issued)."""
    now = utcnow()
    keys = _months_back(now, months)
    start = now.replace(year=int(keys[0][:4]), month=int(keys[0][5:]), day=1, hour=0, minute=0, second=0, microsecond=0)
    from app.models.billing import Invoice

    when = sa.case((Invoice.kind == "invoice", Invoice.paid_at), else_=Invoice.issued_at)
    signed = sa.case((Invoice.kind == "invoice", Invoice.total), else_=-Invoice.total)
    month = _month_key(when).label("month")
    rows = db.session.execute(
        sa.select(Invoice.currency, month, sa.func.sum(signed))
        .where(
            sa.or_(
                sa.and_(Invoice.kind == "invoice", Invoice.status == "paid", Invoice.paid_at >= start),
                sa.and_(
                    Invoice.kind == "credit_note", Invoice.status.in_(("open", "paid")), Invoice.issued_at >= start
                ),
            )
        )
        .group_by(Invoice.currency, month)
    ).all()
    totals: dict[str, dict[str, int]] = {}
    for currency, key, amount in rows:
        totals.setdefault(currency, {})[key] = int(amount or 0)
    return {currency: [(key, by_month.get(key, 0)) for key in keys] for currency, by_month in sorted(totals.items())}


DASHBOARD_CACHE_KEY = "admin:dashboard:figures"
DASHBOARD_CACHE_SECONDS = 60


def dashboard_figures() -> tuple[dict[str, Any], dict[str, list[tuple[str, int]]]]:
    """The dashboard's figures and 12-month revenue, cached in Redis for a minute.

    The aggregates scan the users, subscriptions and a year of invoices; a dashboard left open by
    several admins must not repeat that on every refresh. `flask stats` always reads live.
    """
    import json

    import redis

    from app.redis_client import get_redis

    try:
        cached = get_redis().get(DASHBOARD_CACHE_KEY)
    except redis.RedisError:
        cached = None
    if cached is not None:
        data = json.loads(cached)
        figures = data["figures"]
        if figures["trial_conversion_percent"] is not None:
            figures["trial_conversion_percent"] = Decimal(figures["trial_conversion_percent"])
        return figures, {c: [tuple(m) for m in months] for c, months in data["revenue"].items()}
    figures, revenue = all_figures(), revenue_by_month(12)
    with contextlib.suppress(redis.RedisError):
        get_redis().set(
            DASHBOARD_CACHE_KEY,
            json.dumps({"figures": figures, "revenue": revenue}, default=str),
            ex=DASHBOARD_CACHE_SECONDS,
        )
    return figures, revenue
