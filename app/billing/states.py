"""The subscription state machine: every status change goes through `transition`.

    trial ──► active ──► past_due ──► active (a retry succeeded)
      │        ▲ │           │
      │ paused ┘ ▼           │
      │        paused        │
      └─────────┴────────────┴──► expired | cancelled   (both final)

A trial may also go straight to past_due (its first charge failed). Only an active subscription can be
paused (at the end of its paid period); a pause ends back in active, or the subscription is cancelled.
"""

from __future__ import annotations

from datetime import datetime

from app.errors import Conflict
from app.models.base import utcnow
from app.models.billing import Subscription

ALLOWED: dict[str, frozenset[str]] = {
    "trial": frozenset({"active", "past_due", "expired", "cancelled"}),
    "active": frozenset({"past_due", "paused", "expired", "cancelled"}),
    "past_due": frozenset({"active", "expired", "cancelled"}),
    "paused": frozenset({"active", "cancelled"}),
    "expired": frozenset(),
    "cancelled": frozenset(),
}
LABELS = {
    "trial": "on trial",
    "active": "active",
    "past_due": "past due",
    "paused": "paused",
    "expired": "expired",
    "cancelled": "cancelled",
}


class IllegalTransition(Conflict):
    pass


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())


def transition(subscription: Subscription, target: str, *, now: datetime | None = None) -> None:
    """Move `subscription` to `target`, or raise IllegalTransition and change nothing."""
    current = subscription.status
    if not can_transition(current, target):
        raise IllegalTransition(
            f"A subscription that is {LABELS.get(current, current)} can't become {LABELS.get(target, target)}."
        )
    now = now or utcnow()
    subscription.status = target
    if target in ("expired", "cancelled"):
        subscription.ended_at = now
        subscription.next_retry_at = None
        subscription.auto_renew = False
        subscription.pause_start = subscription.pause_end = None
        if target == "cancelled" and subscription.cancelled_at is None:
            subscription.cancelled_at = now
    if target == "active":
        subscription.retry_count = 0
        subscription.next_retry_at = None
        if current == "paused":
            subscription.pause_start = subscription.pause_end = None
