"""What deleting an account does to billing: nothing renews or charges again, the records stay anonymous.

Invoices and transactions are kept (the law asks for them) with the person's details replaced;
the cards on file go, and checkout attempts keep what they need to settle, without who paid.
The caller (app/account/erasure.py) audits the deletion as a whole and commits.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from app import audit
from app.billing.orders import OPEN
from app.billing.states import transition
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import LIVE_STATUSES, Invoice, PaymentMethod, Subscription
from app.models.checkout import CartItem, CheckoutAttempt

ANONYMOUS_CUSTOMER: dict[str, Any] = {
    "name": "Deleted customer",
    "email": "",
    "company": "",
    "address": {},
    "tax_id": "",
}


def cancel_all_now(user_id: uuid.UUID, *, actor_id: uuid.UUID | None) -> int:
    """Cancel every live subscription of `user_id` at once (no notices: the goodbye email says it). Returns how many.

    The rows are locked first, so a renewal running at the same moment waits and then finds them cancelled.
    """
    now = utcnow()
    live = db.session.scalars(
        sa.select(Subscription)
        .where(Subscription.user_id == user_id, Subscription.status.in_(LIVE_STATUSES))
        .order_by(Subscription.id)
        .with_for_update()
    ).all()
    for sub in live:
        before = {"status": sub.status}
        transition(sub, "cancelled", now=now)
        sub.cancel_at_period_end = False
        audit.record(
            "subscription.cancel",
            actor_id=actor_id,
            target=sub,
            before=before,
            after={"status": sub.status, "when": "now", "by": "account_deletion"},
        )
    return len(live)


def anonymize_records(user_id: uuid.UUID) -> None:
    """Replace the person on invoices and checkout snapshots; delete cards, cart and checkout answers."""
    db.session.execute(sa.update(Invoice).where(Invoice.user_id == user_id).values(bill_to=ANONYMOUS_CUSTOMER))
    db.session.execute(sa.update(Subscription).where(Subscription.user_id == user_id).values(answers={}))
    for attempt in db.session.scalars(sa.select(CheckoutAttempt).where(CheckoutAttempt.user_id == user_id)):
        snapshot = dict(attempt.snapshot or {})
        snapshot["bill_to"] = ANONYMOUS_CUSTOMER
        if snapshot.get("card"):
            snapshot["card"] = {**snapshot["card"], "holder_name": ""}
        if attempt.status not in OPEN:  # an open one may still be fulfilled (then refunded) from its answers
            snapshot["lines"] = [{**line, "answers": {}} for line in snapshot.get("lines") or []]
        attempt.snapshot = snapshot
    db.session.execute(sa.delete(PaymentMethod).where(PaymentMethod.user_id == user_id))
    db.session.execute(sa.delete(CartItem).where(CartItem.user_id == user_id))
