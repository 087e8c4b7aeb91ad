"""Pausing a subscription: the rules, and the moves the customer, staff and the lifecycle share.

A pause starts when the period the customer paid for ends (`pause_start` = the period end) and lasts
1–3 billing periods, or until a date at most 3 periods on. While it is scheduled the subscription is
active; the lifecycle run moves it to paused at the start (no invoices) and back to active at the end,
with the period end moved by the paused time, so the next period is charged then. The callers lock the
row, audit and commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from app import outbox
from app.billing import notices
from app.billing.periods import add_cycles
from app.billing.states import transition
from app.dates import format_date, local
from app.errors import Conflict, ValidationError
from app.models.billing import Subscription
from app.timezones import zone_of

MAX_CYCLES = 3
CYCLES_MESSAGE = f"Choose 1 to {MAX_CYCLES} billing periods."
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class PauseLength:
    """How long to pause: a number of billing periods, or until a date (the day it resumes)."""

    cycles: int | None = None
    until: date | None = None


def parse_length(cycles_raw: object, until_raw: object) -> PauseLength:
    """Exactly one of `cycles` (1–3) and `until` (YYYY-MM-DD). Raises ValidationError naming the field."""
    cycles_text = str(cycles_raw or "").strip()
    until_text = str(until_raw or "").strip()
    if cycles_text and until_text:
        raise ValidationError({"cycles": "Choose a number of billing periods or a date to resume on, not both."})
    if not cycles_text and not until_text:
        raise ValidationError({"cycles": "Choose how many billing periods to pause for, or a date to resume on."})
    if cycles_text:
        if not cycles_text.isdigit() or not 1 <= int(cycles_text) <= MAX_CYCLES:
            raise ValidationError({"cycles": CYCLES_MESSAGE})
        return PauseLength(cycles=int(cycles_text))
    try:
        if not _DATE.match(until_text):
            raise ValueError(until_text)
        return PauseLength(until=date.fromisoformat(until_text))
    except ValueError:
        raise ValidationError({"until": "Enter the date to resume on as YYYY-MM-DD, e.g. 2027-03-01."}) from None


def refusal(sub: Subscription) -> str | None:
    """Why this subscription can't be paused now, or None (product must be loaded)."""
    name = sub.product.name
    if sub.status == "paused":
        return f"{name} is already paused until {format_date(sub.pause_end)}."
    if sub.pause_scheduled:
        return (
            f"{name} is already set to pause from {format_date(sub.pause_start)} until {format_date(sub.pause_end)}."
            " Resume it first to choose another pause."
        )
    if not sub.is_live:
        return f"Your {name} subscription has already ended."
    if sub.status == "trial":
        return f"A free trial can't be paused. Once {name} is a paid subscription you can pause it."
    if sub.status == "past_due":
        return f"{name} has a payment due, so it can't be paused. Update your card so the payment goes through first."
    if sub.cancel_at_period_end:
        return (
            f"{name} is set to end on {format_date(sub.current_period_end)}, so it can't be paused."
            " Keep your subscription first if you'd rather pause it."
        )
    if not sub.auto_renew:
        return (
            f"Auto-renew is off, so {name} ends on {format_date(sub.current_period_end)} instead of renewing."
            " Turn auto-renew on to pause it instead."
        )
    return None


def choices(sub: Subscription) -> list[tuple[int, datetime]]:
    """What the pause form offers: each number of periods with the day it would resume."""
    start = sub.current_period_end
    if start is None:
        return []
    return [(n, add_cycles(start, sub.plan.billing_cycle, n)) for n in range(1, MAX_CYCLES + 1)]


def window(sub: Subscription, length: PauseLength, now: datetime) -> tuple[datetime, datetime]:
    """When the pause would start (the paid period's end) and end. Raises ValidationError for a bad date."""
    start = sub.current_period_end or now
    cycle = sub.plan.billing_cycle
    if length.cycles is not None:
        return start, add_cycles(start, cycle, length.cycles)
    assert length.until is not None  # noqa: S101  (parse_length gives one or the other)
    zone = zone_of(sub.user_id)
    if length.until <= local(now, zone).date():
        raise ValidationError({"until": "Choose a date in the future."})
    # The day it resumes begins at midnight on the customer's clock.
    end = datetime.combine(length.until, time(), tzinfo=zone or UTC).astimezone(UTC)
    if end <= start:
        message = f"The pause starts on {format_date(start)}, when the period you paid for ends: choose a later date."
        raise ValidationError({"until": message})
    latest = add_cycles(start, cycle, MAX_CYCLES)
    if end > latest:
        raise ValidationError(
            {"until": f"A pause lasts at most {MAX_CYCLES} billing periods: choose {format_date(latest)} or earlier."}
        )
    return start, end


def schedule(sub: Subscription, length: PauseLength, now: datetime) -> str:
    """Set the pause (raises Conflict, or ValidationError for the date, changing nothing); says what happens."""
    reason = refusal(sub)
    if reason:
        raise Conflict(reason)
    sub.pause_start, sub.pause_end = window(sub, length, now)
    notices.pause_scheduled(sub, sub.product)
    return (
        f"{sub.product.name} will pause on {format_date(sub.pause_start)}, when the period you paid for ends, "
        f"and resume by itself on {format_date(sub.pause_end)}. Nothing is charged in between."
    )


def audit_record(sub: Subscription, length: PauseLength, **extra: str) -> dict[str, object]:
    """What the audit log keeps of a pause just scheduled."""
    return {
        "pauses_on": sub.pause_start.date().isoformat() if sub.pause_start else None,
        "resumes_on": sub.pause_end.date().isoformat() if sub.pause_end else None,
        "pause_start": sub.pause_start.isoformat() if sub.pause_start else None,
        "pause_end": sub.pause_end.isoformat() if sub.pause_end else None,
        "cycles": length.cycles,
        "until": length.until.isoformat() if length.until else None,
        **extra,
    }


def call_off(sub: Subscription) -> str:
    """Drop a pause that hasn't started: it renews at the period end as usual."""
    sub.pause_start = sub.pause_end = None
    notices.resumed(sub, sub.product)
    return f"The pause is called off. {sub.product.name} renews on {format_date(sub.current_period_end)} as usual."


def end(sub: Subscription, now: datetime) -> str:
    """Resume a paused subscription now, or call off a pause not started yet; says what happens next.
    A pause ended early starts the next period now; the lifecycle run it enqueues charges it."""
    if sub.status == "paused":
        finish(sub, now, now)
        outbox.enqueue("jobs.billing.run_lifecycle", queue="low")
        return f"{sub.product.name} is running again. Its next period starts now and is charged now."
    return call_off(sub)


def begin(sub: Subscription, now: datetime) -> None:
    """The lifecycle: the paid period is over, the pause starts (no invoice)."""
    transition(sub, "paused", now=now)
    notices.paused(sub, sub.product)


def finish(sub: Subscription, at: datetime, now: datetime) -> None:
    """End the pause at `at` (its planned end, or now when resumed early): the period end moves by the time
    it was paused, so the next period starts — and is charged — at `at`."""
    paused_since = sub.pause_start or at
    at = max(at, paused_since)  # resumed "before" it began: only after `flask billing run --at` travelled ahead
    sub.current_period_end = (sub.current_period_end or paused_since) + (at - paused_since)
    transition(sub, "active", now=now)
    notices.pause_ended(sub, sub.product)
