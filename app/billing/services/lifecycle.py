"""The subscription lifecycle, run by the scheduler and by `flask billing run`.

Each step picks its subscriptions in batches locked FOR UPDATE SKIP LOCKED (keyset
order, a commit per batch): several workers share the work without doing any of it
twice, and a step run again finds nothing left to do, because every action moves
the row out of the step's condition.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app.billing import clock, notices, plan_changes, renewals
from app.billing.services import pauses, reconcile
from app.billing.states import transition
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction

REMIND_DAYS = 3


class Report(Counter[str]):
    def lines(self) -> list[str]:
        return [f"{label}: {count}" for label, count in self.items() if count] or ["nothing to do"]


def _no_pending_charge() -> sa.ColumnElement[bool]:
    return ~sa.exists().where(Transaction.subscription_id == Subscription.id, Transaction.status == "pending")


def conditions(now: datetime) -> dict[str, list[sa.ColumnElement[bool]]]:
    """Which subscriptions each step acts on."""
    S = Subscription
    overdue_transfer = sa.exists().where(
        Invoice.subscription_id == S.id,
        Invoice.status == "open",
        Invoice.payment_method == "bank_transfer",
        Invoice.due_at <= now,
    )
    return {
        "trial reminders": [
            S.status == "trial",
            S.trial_reminded_at.is_(None),
            S.trial_end > now,
            S.trial_end <= now + timedelta(days=REMIND_DAYS),
        ],
        "trials ended": [S.status == "trial", S.trial_end <= now, _no_pending_charge()],
        # A pause starts only on a subscription that would renew; with auto-renew off it expires at the period end.
        "pauses starting": [S.status == "active", S.pause_start <= now, S.auto_renew.is_(True), _no_pending_charge()],
        "pauses ending": [S.status == "paused", S.pause_end <= now],
        "periods ended": [
            S.status == "active",
            S.current_period_end <= now,
            _no_pending_charge(),
            sa.or_(S.pause_start.is_(None), S.pause_start > now, S.auto_renew.is_(False)),  # not a pause's to start
        ],
        "retries due": [S.status == "past_due", S.next_retry_at <= now, _no_pending_charge()],
        "bank transfers overdue": [S.status == "active", S.billing_method == "bank_transfer", overdue_transfer],
    }


def locked_batches(where: list[sa.ColumnElement[bool]], size: int) -> Iterator[list[Subscription]]:
    last_id = None
    while True:
        query = (
            sa.select(Subscription)
            .options(selectinload(Subscription.plan), selectinload(Subscription.product))
            .where(*where)
            .order_by(Subscription.id)
            .limit(size)
            .with_for_update(skip_locked=True, of=Subscription)
        )
        if last_id is not None:
            query = query.where(Subscription.id > last_id)
        rows = list(db.session.scalars(query))
        if not rows:
            return
        yield rows
        last_id = rows[-1].id
        db.session.commit()


def _expire(sub: Subscription, now: datetime, reason: str, report: Report) -> None:
    transition(sub, "expired", now=now)
    notices.expired(sub, sub.product, reason)
    report["expired"] += 1


def _cancel_at_end(sub: Subscription, now: datetime, report: Report) -> None:
    transition(sub, "cancelled", now=now)
    notices.ended(sub, sub.product, now)
    report["cancelled at period end"] += 1


def _charge_all(pairs: list[tuple[Subscription, Invoice]], batch: renewals.Batch, report: Report) -> None:
    renewals.finalize_drafts(batch)
    charges = []
    for sub, invoice in pairs:
        if renewals.paid_from_credit(sub, invoice, batch):
            report["paid from credit"] += 1
            continue
        charge = renewals.record_charge(sub, invoice, batch)
        if charge is None:
            report["charges failed"] += 1
        else:
            charges.append(charge)
    db.session.commit()  # the invoices and pending payments exist before any money moves
    answered = []
    for charge in charges:
        result = renewals.call(charge, batch.gateway)
        report[f"charges {result.status if result else 'pending'}"] += 1
        if result is not None:
            answered.append((charge, result))
    renewals.settle(answered, batch.now)
    db.session.commit()


def remind_trials(now: datetime, report: Report, size: int) -> None:
    for subs in locked_batches(conditions(now)["trial reminders"], size):
        for sub in subs:
            days = max(1, math.ceil(((sub.trial_end or now) - now).total_seconds() / 86400))
            notices.trial_ending(sub, sub.product, sub.plan, days)
            sub.trial_reminded_at = now
            report["trial reminders sent"] += 1


def end_trials(now: datetime, report: Report, size: int) -> None:
    for subs in locked_batches(conditions(now)["trials ended"], size):
        batch = renewals.load_batch(subs, now)
        pairs = []
        for sub in subs:
            if sub.cancel_at_period_end:
                _cancel_at_end(sub, now, report)
            elif sub.auto_renew and sub.user_id in batch.cards:
                pairs.append((sub, renewals.card_invoice(sub, batch)))
            else:
                _expire(sub, now, "Your free trial ended.", report)
        _charge_all(pairs, batch, report)


def start_pauses(now: datetime, report: Report, size: int) -> None:
    for subs in locked_batches(conditions(now)["pauses starting"], size):
        for sub in subs:
            pauses.begin(sub, now)
            report["pauses started"] += 1


def end_pauses(now: datetime, report: Report, size: int) -> None:
    """A pause over at its planned end: the next period starts then (renew_periods, next, charges it)."""
    for subs in locked_batches(conditions(now)["pauses ending"], size):
        for sub in subs:
            pauses.finish(sub, sub.pause_end or now, now)
            report["pauses ended"] += 1


def renew_periods(now: datetime, report: Report, size: int) -> None:
    for subs in locked_batches(conditions(now)["periods ended"], size):
        renewing = [s for s in subs if s.auto_renew and not s.cancel_at_period_end]
        report["scheduled plan changes applied"] += plan_changes.apply_due(renewing, now)
        batch = renewals.load_batch(subs, now)
        pairs = []
        for sub in subs:
            if sub.cancel_at_period_end:
                _cancel_at_end(sub, now, report)
            elif not sub.auto_renew:
                _expire(sub, now, "It reached the end of its period and auto-renew was off.", report)
            elif sub.billing_method == "bank_transfer":
                renewals.bank_transfer_invoice(sub, batch)
                report["bank-transfer invoices issued"] += 1
            else:
                pairs.append((sub, renewals.card_invoice(sub, batch)))
        _charge_all(pairs, batch, report)


def retry_payments(now: datetime, report: Report, size: int) -> None:
    for subs in locked_batches(conditions(now)["retries due"], size):
        batch = renewals.load_batch(subs, now)
        _charge_all([(sub, renewals.card_invoice(sub, batch)) for sub in subs], batch, report)


def expire_unpaid_transfers(now: datetime, report: Report, size: int) -> None:
    for subs in locked_batches(conditions(now)["bank transfers overdue"], size):
        overdue = db.session.scalars(
            sa.select(Invoice)
            .where(
                Invoice.subscription_id.in_([s.id for s in subs]),
                Invoice.status == "open",
                Invoice.payment_method == "bank_transfer",
                Invoice.due_at <= now,
            )
            .with_for_update()
        )
        for invoice in overdue:
            invoice.status = "uncollectible"
        for sub in subs:
            _expire(sub, now, "We didn't receive the bank transfer by its due date.", report)


# Pauses start before renewals look at the period end, and end before them, so one run can charge the period
# that follows a pause.
STEPS = (remind_trials, end_trials, start_pauses, end_pauses, renew_periods, retry_payments, expire_unpaid_transfers)


def run(now: datetime | None = None, *, dry_run: bool = False, size: int | None = None, travel: bool = False) -> Report:
    """Run every step once as of `now` (or, with dry_run, count what each would act on).

    travel=True: `now` is a chosen instant (`flask billing run --at`): refused (PermissionDenied) where time
    travel is off, and (Conflict) before the latest run's instant. Every real run records its instant too.
    """
    now = now or utcnow()
    size = size or current_app.config.get("BILLING_BATCH_SIZE", 200)
    report = Report()
    if travel:
        clock.check_travel_allowed()
        latest = clock.latest_run_at()
        if dry_run and latest is not None and now < latest:
            raise clock.backwards(latest, now)
    if not dry_run:
        clock.advance(now, travelling=travel)
    if dry_run:
        for label, where in conditions(now).items():
            report[f"would act on ({label})"] = (
                db.session.scalar(sa.select(sa.func.count()).select_from(Subscription).where(*where)) or 0
            )
        report["would reconcile (pending payments)"] = reconcile.count_due(now)
        db.session.rollback()
        return report
    for step in STEPS:
        step(now, report, size)
        db.session.commit()
    reconcile.run(now, report, size)
    return report
