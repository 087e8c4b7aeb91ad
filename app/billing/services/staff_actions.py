"""What staff do to a customer's subscription from the admin pages: cancel it, extend its trial, pause and resume
it (with a reason).

Each locks the subscription row, goes through the state machine, audits (actor = the staff member) and commits.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from app import audit
from app.billing import notices
from app.billing.services import pauses
from app.billing.services.lifecycle import REMIND_DAYS
from app.billing.settlement import lock_subscription
from app.billing.states import transition
from app.dates import format_date
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Subscription

MAX_TRIAL_EXTENSION_DAYS = 90


def _locked(subscription_id: uuid.UUID | str) -> Subscription:
    try:
        sid = uuid.UUID(str(subscription_id))
    except ValueError:
        raise NotFound("No such subscription.") from None
    sub = lock_subscription(sid)
    if sub is None:
        raise NotFound("No such subscription.")
    return sub


def cancel(subscription_id: uuid.UUID | str, when: str, *, actor_id: uuid.UUID) -> tuple[Subscription, str]:
    """when = "now" (cancelled at once) or "period_end" (the customer keeps access until then)."""
    if when not in ("now", "period_end"):
        raise ValidationError({"when": "Choose to cancel now or at the end of the period."})
    sub = _locked(subscription_id)
    if not sub.is_live:
        raise Conflict(f"This {sub.product.name} subscription is already {sub.status}.")
    before = {"status": sub.status, "cancel_at_period_end": sub.cancel_at_period_end}
    now = utcnow()
    if when == "now" or sub.status in ("past_due", "paused"):
        transition(sub, "cancelled", now=now)  # raises (changing nothing) if the table forbids it
        ends_on, message = now, f"{sub.product.name} for this customer is cancelled."
    else:
        if sub.cancel_at_period_end:
            raise Conflict("It is already set to cancel at the end of the period.")
        sub.cancel_at_period_end = True
        sub.pause_start = sub.pause_end = None  # ending at the period end replaces a pause planned from then
        ends_on = sub.current_period_end or now
        message = f"{sub.product.name} will end on {format_date(ends_on)}. The customer keeps access until then."
    notices.cancelled(sub, sub.product, ends_on)
    audit.record(
        "subscription.cancel",
        actor_id=actor_id,
        target=sub,
        before=before,
        after={"status": sub.status, "cancel_at_period_end": sub.cancel_at_period_end, "when": when, "by": "staff"},
    )
    db.session.commit()
    return sub, message


def parse_days(raw: object) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit() or len(text) > 3 or not 1 <= int(text) <= MAX_TRIAL_EXTENSION_DAYS:
        raise ValidationError({"days": f"Enter a whole number of days from 1 to {MAX_TRIAL_EXTENSION_DAYS}."})
    return int(text)


def extend_trial(
    subscription_id: uuid.UUID | str, days_raw: object, *, actor_id: uuid.UUID
) -> tuple[Subscription, str]:
    """Push a running trial's end (and its period end) back by N days; only a trial can be extended."""
    days = parse_days(days_raw)
    sub = _locked(subscription_id)
    if sub.status != "trial" or sub.trial_end is None:
        raise Conflict(f"Only a running trial can be extended; this subscription is {sub.status.replace('_', ' ')}.")
    before = {
        "trial_end": sub.trial_end.isoformat(),
        "current_period_end": sub.current_period_end.isoformat() if sub.current_period_end else None,
    }
    new_end = sub.trial_end + timedelta(days=days)
    if sub.current_period_end is None or sub.current_period_end <= sub.trial_end:
        sub.current_period_end = new_end
    sub.trial_end = new_end
    # The "trial ending" reminder belongs to the new end date.
    if new_end - utcnow() > timedelta(days=REMIND_DAYS):
        sub.trial_reminded_at = None
    audit.record(
        "subscription.trial_extended",
        actor_id=actor_id,
        target=sub,
        before=before,
        after={"trial_end": new_end.isoformat(), "days": days},
    )
    db.session.commit()
    return sub, f"The trial now runs until {format_date(new_end)} ({days} more day{'s' if days != 1 else ''})."


def parse_reason(raw: object) -> str:
    reason = str(raw or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why (the customer's request, a support ticket …): it goes in the audit log."}
        )
    return reason[:500]


def pause(
    subscription_id: uuid.UUID | str, length: pauses.PauseLength, reason_raw: object, *, actor_id: uuid.UUID
) -> tuple[Subscription, str]:
    """Pause a customer's subscription from the end of its paid period, as the customer could; audited with why."""
    reason = parse_reason(reason_raw)
    sub = _locked(subscription_id)
    pauses.schedule(sub, length, utcnow())
    audit.record(
        "subscription.pause", actor_id=actor_id, target=sub, after=pauses.audit_record(sub, length, reason=reason)
    )
    db.session.commit()
    return sub, (
        f"{sub.product.name} for this customer will pause on {format_date(sub.pause_start)} and resume by itself "
        f"on {format_date(sub.pause_end)}. The customer has been told."
    )


def resume(subscription_id: uuid.UUID | str, reason_raw: object, *, actor_id: uuid.UUID) -> tuple[Subscription, str]:
    """End a customer's pause now, or call off one not started yet; audited with why."""
    reason = parse_reason(reason_raw)
    sub = _locked(subscription_id)
    if sub.status != "paused" and not sub.pause_scheduled:
        raise Conflict(f"This {sub.product.name} subscription isn't paused and has no pause planned.")
    before = {"status": sub.status, "pause_start": str(sub.pause_start), "pause_end": str(sub.pause_end)}
    message = pauses.end(sub, utcnow())
    audit.record(
        "subscription.resume",
        actor_id=actor_id,
        target=sub,
        before=before,
        after={"status": sub.status, "reason": reason},
    )
    db.session.commit()
    return sub, message
