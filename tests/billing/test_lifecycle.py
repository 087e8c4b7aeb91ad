"""The lifecycle with frozen time: reminders, trial ends, renewals, retries, cancellations, grace, reconciliation."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.billing.services import lifecycle
from app.billing.services.adjustments import mark_invoice_paid
from app.extensions import db
from app.models.billing import Invoice, Subscription, Transaction
from app.models.notification import Notification
from app.models.outbox import OutboxMessage
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory
from tests.support.checkout import CARD_RENEWAL_DECLINES, pending_renewal, save_card

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def run(app, **kwargs):
    with app.app_context():
        try:
            return lifecycle.run(**kwargs)
        finally:
            db.session.remove()


def _subscription(app, user, plan_id, **fields):
    with app.app_context():
        sub = SubscriptionFactory(user_id=user.id, plan_id=plan_id, **fields)
        return sub.id


def _card(app, user, number=None):
    with app.app_context():
        save_card(user, *([number] if number else []))


def _state(app, sub_id):
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        invoices = db.session.scalars(
            sa.select(Invoice).where(Invoice.subscription_id == sub_id).order_by(Invoice.issued_at)
        ).all()
        db.session.expunge_all()
        return sub, invoices


def _emails(app) -> list[str]:
    with app.app_context():
        return [
            m.args[0]["template"]
            for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
            if m.func == "jobs.email.send_email"
        ]


def _trial(app, user, plan_id, days=14, **fields):
    return _subscription(
        app,
        user,
        plan_id,
        status="trial",
        current_period_start=T0,
        current_period_end=T0 + timedelta(days=days),
        trial_end=T0 + timedelta(days=days),
        **fields,
    )


def test_trial_ending_reminder_goes_out_three_days_before_and_only_once(app, user, shop, clock):
    sub_id = _trial(app, user, shop["crm_team"])
    clock(T0 + timedelta(days=10))
    assert run(app)["trial reminders sent"] == 0
    clock(T0 + timedelta(days=11, hours=1))
    assert run(app)["trial reminders sent"] == 1
    assert run(app)["trial reminders sent"] == 0
    assert _emails(app) == ["trial_ending"]
    with app.app_context():
        note = db.session.scalar(sa.select(Notification))
        assert note.kind == "trial_ending" and "3 days" in note.title
    assert _state(app, sub_id)[0].status == "trial"


def test_trial_end_with_auto_renew_and_a_card_invoices_charges_and_activates(app, user, shop, clock, gateway):
    _card(app, user)
    sub_id = _trial(app, user, shop["crm_team"])
    clock(T0 + timedelta(days=14, minutes=5))
    report = run(app)
    assert report["charges succeeded"] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == "active"
    assert sub.current_period_start == T0 + timedelta(days=14)
    assert sub.current_period_end == datetime(2026, 4, 16, 9, 0, tzinfo=UTC)
    assert [(i.status, i.total) for i in invoices] == [("paid", 5390)]
    assert [c["amount"] for c in gateway.charges()] == [5390]
    assert sorted(_emails(app)) == ["payment_receipt", "subscription_activated"]
    run(app)
    assert len(gateway.charges()) == 1 and len(_state(app, sub_id)[1]) == 1


@pytest.mark.parametrize("card,fields", [(False, {}), (True, {"auto_renew": False})])
def test_trial_end_without_a_card_or_auto_renew_expires(app, user, shop, clock, gateway, card, fields):
    if card:
        _card(app, user)
    sub_id = _trial(app, user, shop["crm_team"], **fields)
    clock(T0 + timedelta(days=14, minutes=5))
    assert run(app)["expired"] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == "expired" and sub.ended_at == T0 + timedelta(days=14, minutes=5)
    assert invoices == [] and gateway.charges() == []
    assert _emails(app) == ["subscription_expired"]


def test_a_trial_cancelled_at_period_end_is_cancelled_when_it_ends(app, user, shop, clock, gateway):
    _card(app, user)
    sub_id = _trial(app, user, shop["crm_team"], cancel_at_period_end=True)
    clock(T0 + timedelta(days=14, minutes=5))
    assert run(app)["cancelled at period end"] == 1
    assert _state(app, sub_id)[0].status == "cancelled" and gateway.charges() == []


def test_period_end_with_auto_renew_charges_the_next_invoice_and_starts_a_new_period(app, user, shop, clock, gateway):
    _card(app, user)
    sub_id = _subscription(
        app,
        user,
        shop["analytics_yearly"],
        current_period_start=T0 - timedelta(days=365),
        current_period_end=T0 + timedelta(hours=1),
    )
    assert run(app)["charges succeeded"] == 0
    clock(T0 + timedelta(hours=2))
    assert run(app)["charges succeeded"] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == "active"
    assert (sub.current_period_start, sub.current_period_end) == (
        T0 + timedelta(hours=1),
        datetime(2027, 3, 2, 10, 0, tzinfo=UTC),
    )
    assert [(i.status, i.subtotal, i.discount, i.fee, i.total) for i in invoices] == [
        ("paid", 46800, 4680, 4212, 46332)
    ]
    assert _emails(app) == ["payment_receipt"]
    assert run(app)["charges succeeded"] == 0 and len(gateway.charges()) == 1


def test_a_failed_renewal_is_retried_after_1_3_and_5_days_then_expires_with_an_email_each_step(
    app, user, shop, clock, gateway
):
    _card(app, user, CARD_RENEWAL_DECLINES)
    start = T0 - timedelta(days=28)
    sub_id = _subscription(app, user, shop["crm_team"], current_period_start=start, current_period_end=T0)
    clock(T0 + timedelta(minutes=1))
    assert run(app)["charges failed"] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == "past_due" and sub.next_retry_at == T0 + timedelta(minutes=1, days=1)
    assert [i.status for i in invoices] == ["open"]
    clock(T0 + timedelta(hours=12))
    assert run(app)["charges failed"] == 0  # not due yet
    for day, retries in ((1, 1), (3, 2)):
        clock(T0 + timedelta(days=day, minutes=2))
        assert run(app)["charges failed"] == 1
        sub, _ = _state(app, sub_id)
        assert sub.status == "past_due" and sub.retry_count == retries
    assert sub.next_retry_at == T0 + timedelta(days=5, minutes=1)
    clock(T0 + timedelta(days=5, minutes=2))
    report = run(app)
    assert report["charges failed"] == 1 and report["expired"] == 0
    sub, invoices = _state(app, sub_id)
    assert sub.status == "expired" and [i.status for i in invoices] == ["uncollectible"]
    assert len(invoices) == 1 and len(gateway.charges()) == 4
    assert _emails(app) == ["payment_failed"] * 3 + ["subscription_expired"]
    assert run(app)["charges failed"] == 0


def test_a_retry_succeeds_once_the_customer_adds_a_working_card(app, user, shop, clock):
    _card(app, user, CARD_RENEWAL_DECLINES)
    sub_id = _subscription(
        app, user, shop["crm_team"], current_period_start=T0 - timedelta(days=28), current_period_end=T0
    )
    clock(T0 + timedelta(minutes=1))
    run(app)
    _card(app, user)  # the new default card
    clock(T0 + timedelta(days=1, minutes=2))
    assert run(app)["charges succeeded"] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == "active" and sub.retry_count == 0 and sub.next_retry_at is None
    assert sub.current_period_start == T0 and [i.status for i in invoices] == ["paid"]
    assert _emails(app) == ["payment_failed", "payment_receipt", "subscription_activated"]


@pytest.mark.parametrize(
    "fields,status,label",
    [
        ({"cancel_at_period_end": True}, "cancelled", "cancelled at period end"),
        ({"auto_renew": False}, "expired", "expired"),
    ],
)
def test_a_subscription_not_renewing_ends_at_its_period_end(app, user, shop, clock, gateway, fields, status, label):
    _card(app, user)
    sub_id = _subscription(
        app, user, shop["crm_team"], current_period_start=T0 - timedelta(days=28), current_period_end=T0, **fields
    )
    clock(T0 + timedelta(minutes=1))
    assert run(app)[label] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == status and invoices == [] and gateway.charges() == []


def test_a_bank_transfer_renewal_opens_an_invoice_with_a_grace_period_then_expires_unpaid(app, user, shop, clock):
    sub_id = _subscription(
        app,
        user,
        shop["crm_team"],
        current_period_start=T0 - timedelta(days=28),
        current_period_end=T0,
        billing_method="bank_transfer",
    )
    clock(T0 + timedelta(minutes=1))
    assert run(app)["bank-transfer invoices issued"] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == "active" and sub.current_period_start == T0
    assert [(i.status, i.due_at) for i in invoices] == [("open", T0 + timedelta(days=14, minutes=1))]
    clock(T0 + timedelta(days=14, minutes=2))
    assert run(app)["expired"] == 1
    sub, invoices = _state(app, sub_id)
    assert sub.status == "expired" and invoices[0].status == "uncollectible"


def test_a_bank_transfer_marked_paid_in_time_keeps_the_subscription(app, user, shop, clock):
    sub_id = _subscription(
        app,
        user,
        shop["crm_team"],
        current_period_start=T0 - timedelta(days=28),
        current_period_end=T0,
        billing_method="bank_transfer",
    )
    clock(T0 + timedelta(minutes=1))
    run(app)
    with app.app_context():
        mark_invoice_paid(_state(app, sub_id)[1][0].id, actor_id=None)
    clock(T0 + timedelta(days=15))
    assert run(app)["expired"] == 0
    assert _state(app, sub_id)[0].status == "active"


def test_reconciliation_settles_payments_pending_for_more_than_15_minutes(app, user, shop, clock):
    with app.app_context():
        sub, invoice, tx, _ = pending_renewal(user, shop["crm_team"])
        sub_id, tx_id = sub.id, tx.id
    clock(T0 + timedelta(minutes=10))
    assert run(app)["pending payments settled (succeeded)"] == 0
    clock(T0 + timedelta(minutes=16))
    assert run(app)["pending payments settled (succeeded)"] == 1
    sub, invoices = _state(app, sub_id)
    with app.app_context():
        assert db.session.get(Transaction, tx_id).status == "succeeded"
    assert [i.status for i in invoices] == ["paid"] and sub.current_period_start == T0


def test_reconciliation_fails_a_payment_the_gateway_never_saw(app, user, shop, clock, gateway):
    with app.app_context():
        sub, invoice, tx, charge = pending_renewal(user, shop["crm_team"])
        sub_id, tx_id = sub.id, tx.id
        db.session.execute(
            sa.update(Transaction)
            .where(Transaction.id == tx_id)
            .values(idempotency_key="renewal:lost-before-the-gateway:0")
        )
        db.session.commit()
    clock(T0 + timedelta(minutes=16))
    assert run(app)["pending payments settled (failed)"] == 1
    with app.app_context():
        assert db.session.get(Transaction, tx_id).failure_code == "not_received"
    assert _state(app, sub_id)[0].status == "past_due"


@pytest.mark.postgres
def test_two_workers_running_at_once_renew_each_subscription_once(app, user, shop, clock, gateway):
    from app.models.catalog import Product

    _card(app, user)
    sub_ids = []
    with app.app_context():
        for n in range(24):  # one live subscription per product
            plan = PlanFactory(product=ProductFactory(name=f"Tool {n}"), price=1000 + n)
            sub_ids.append(
                SubscriptionFactory(
                    user_id=user.id, plan=plan, current_period_start=T0 - timedelta(days=28), current_period_end=T0
                ).id
            )
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) >= 24
    clock(T0 + timedelta(minutes=1))
    barrier = threading.Barrier(2)
    reports = []

    def worker():
        barrier.wait()
        reports.append(run(app, size=5))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["charges succeeded"] for r in reports) == 24
    assert len(gateway.charges()) == 24
    with app.app_context():
        per_sub = db.session.execute(
            sa.select(Invoice.subscription_id, sa.func.count()).group_by(Invoice.subscription_id)
        ).all()
        assert len(per_sub) == 24 and {count for _, count in per_sub} == {1}
        numbers = sorted(db.session.scalars(sa.select(Invoice.number)))
        assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 25)]
    assert run(app)["charges succeeded"] == 0


def test_flask_billing_run_prints_what_it_did_and_dry_run_changes_nothing(app, runner, user, shop, clock, gateway):
    _card(app, user)
    sub_id = _subscription(
        app, user, shop["crm_team"], current_period_start=T0 - timedelta(days=28), current_period_end=T0
    )
    clock(T0 + timedelta(minutes=1))
    dry = runner.invoke(args=["billing", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "would act on (periods ended): 1" in dry.output
    assert gateway.charges() == [] and _state(app, sub_id)[1] == []
    result = runner.invoke(args=["billing", "run"])
    assert result.exit_code == 0, result.output
    assert "charges succeeded: 1" in result.output
    assert "nothing to do" in runner.invoke(args=["billing", "run"]).output


def test_the_scheduled_job_runs_the_lifecycle_in_a_worker(app, user, shop, clock, run_jobs):
    from app.outbox import get_queue
    from app.workers import PERIODIC

    assert {p.func for p in PERIODIC} >= {"jobs.billing.run_lifecycle", "jobs.billing.reconcile_payments"}
    sub_id = _trial(app, user, shop["crm_team"], days=2)
    get_queue("low", app.extensions["redis"]).enqueue("jobs.billing.run_lifecycle")
    assert run_jobs(["low"]) == 1
    assert _state(app, sub_id)[0].trial_reminded_at == T0
