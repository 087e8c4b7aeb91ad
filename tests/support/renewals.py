"""A subscription whose period has just ended, `flask billing run` through the CLI runner, and the
emailed "pay now" link: what the renewal journeys (sandbox and Stripe) share."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from tests.factories import SubscriptionFactory
from tests.support.checkout import catalog, ids

PAY_LINK = re.compile(r"(https?://\S+/invoices/[0-9a-f-]{36}/pay)\b")


def catalog_ids(app) -> dict:
    """The billing tests' shop (tests/support/checkout.py catalog), as plain ids: use as the `shop` fixture."""
    with app.app_context():
        result = ids(catalog())
        db.session.remove()
    return result


def due_subscription(app, user, plan_id) -> uuid.UUID:
    """An active card subscription whose period ended a minute ago: the next run renews it."""
    with app.app_context():
        now = utcnow()
        sub = SubscriptionFactory(
            user_id=user.id,
            plan_id=plan_id,
            current_period_start=now - timedelta(days=30),
            current_period_end=now - timedelta(minutes=1),
        )
        sub_id = sub.id
        db.session.remove()
    return sub_id


def end_period_now(app, sub_id) -> None:
    """Bring the subscription's (renewed) period end to a minute ago: the next run renews it again."""
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        sub.current_period_start = utcnow() - timedelta(days=30)
        sub.current_period_end = utcnow() - timedelta(minutes=1)
        db.session.commit()
        db.session.remove()


def billing_run(app) -> str:
    result = app.test_cli_runner().invoke(args=["billing", "run"])
    assert result.exit_code == 0, result.output
    return result.output


def state(app, sub_id) -> tuple[Subscription, list[Invoice], list[Transaction]]:
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        invoices = list(
            db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == sub_id).order_by(Invoice.issued_at))
        )
        txs = list(
            db.session.scalars(
                sa.select(Transaction).where(Transaction.subscription_id == sub_id).order_by(Transaction.created_at)
            )
        )
        db.session.expunge_all()
        db.session.remove()
    return sub, invoices, txs


def pay_link(sink, address: str) -> str:
    """The "pay now" link of the payment-failed email that reached `address`."""
    [failed] = [m for m in sink.to(address) if "Payment failed" in str(m["Subject"])]
    match = PAY_LINK.search(sink.text(failed))
    assert match, sink.text(failed)
    assert match.group(1) in sink.html(failed)
    return match.group(1)
