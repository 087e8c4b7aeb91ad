"""The database drops right after the gateway charged: the order is completed (or refunded) once, later.

The app's database sits behind a TCP proxy. The real sandbox charges; the moment its
answer is back, the proxy refuses every connection and drops the open ones, so the
transaction that would settle the payment fails for real. Then the database returns
and the order is finished by whichever comes: reconciliation (`flask billing
reconcile`), the sandbox's webhook, or the customer submitting the same form again.
"""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.billing.gateway.sandbox import event_for
from app.billing.services import lifecycle
from app.extensions import db
from app.models.billing import Invoice, Subscription, Transaction
from app.models.catalog import Plan
from app.models.checkout import CartItem, CheckoutAttempt, WebhookEvent
from app.models.notification import Notification
from tests.billing.test_webhook import post_event
from tests.factories import SubscriptionFactory
from tests.support.checkout import add_to_cart, card, review, save_card

pytestmark = pytest.mark.postgres

LATER = timedelta(minutes=16)  # reconciliation leaves payments younger than 15 minutes to their own request


def _customer(behind_proxy, signed_in, shop):
    """The signed-in customer's browser, talking to the app whose database will drop; two products in the cart."""
    add_to_cart(signed_in, shop["crm_team"])
    add_to_cart(signed_in, shop["analytics_yearly"])
    customer = behind_proxy.test_client()
    customer.set_cookie("session", signed_in.get_cookie("session").value)
    _, key, fingerprint = review(customer)
    return customer, {"idempotency_key": key, "review_fingerprint": fingerprint, **card()}


def _pay_and_lose_the_database(customer, form, proxy):
    response = customer.post("/checkout", data=form)
    proxy.accept()  # the database is back
    return response


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _assert_completed_once(app, gateway, smtp_sink=None):
    """One charge, one paid invoice per subscription, each receipt once, nothing pending."""
    assert [c["status"] for c in gateway.charges()] == ["succeeded"]
    with app.app_context():
        subs = db.session.scalars(sa.select(Subscription)).all()
        assert sorted(s.status for s in subs) == ["active", "active"]
        invoices = db.session.scalars(sa.select(Invoice)).all()
        assert sorted((i.subscription_id, i.status) for i in invoices) == sorted((s.id, "paid") for s in subs)
        tx = db.session.scalar(sa.select(Transaction))
        assert tx.status == "succeeded" and sum(i.total for i in invoices) == tx.amount == 51722
        assert {i.transaction_id for i in invoices} == {tx.id}
        attempt = db.session.scalar(sa.select(CheckoutAttempt))
        assert attempt.status == "succeeded" and "token" not in attempt.snapshot["card"]  # kept only while open
        assert _count(Transaction, Transaction.status == "pending") == 0
        assert _count(WebhookEvent, WebhookEvent.status == "pending") == 0
        assert _count(Notification, Notification.kind == "payment_receipt") == 2
        assert _count(CartItem) == 0
        numbers = sorted(i.number for i in invoices)
    if smtp_sink is not None:
        subjects = sorted(str(m["Subject"]) for m in smtp_sink.messages)
        assert [s for s in subjects if s.startswith("Receipt")] == [f"Receipt for invoice {n}" for n in numbers]
        assert len([s for s in subjects if s.endswith("is active")]) == 2


def test_a_database_drop_right_after_the_charge_is_completed_once_by_flask_billing_reconcile(
    app,
    behind_proxy,
    proxy,
    drop_database_after_charge,
    signed_in,
    user,
    shop,
    gateway,
    runner,
    run_jobs,
    smtp_sink,
    time_machine,
):
    customer, form = _customer(behind_proxy, signed_in, shop)
    response = _pay_and_lose_the_database(customer, form, proxy)
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 202
    assert "We're confirming your payment" in page and "won't be charged twice" in page
    assert f'name="idempotency_key" value="{form["idempotency_key"]}"' in page
    with app.app_context():  # recorded before the call, so nothing is lost: charged, not yet settled
        assert db.session.scalar(sa.select(CheckoutAttempt.status)) == "charging"
        assert db.session.scalar(sa.select(Transaction.status)) == "pending"
        assert _count(Invoice) == 0
    assert len(gateway.charges()) == 1

    time_machine.move_to(datetime.now(UTC) + LATER)
    result = runner.invoke(args=["billing", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "checkouts completed: 1" in result.output
    again = runner.invoke(args=["billing", "reconcile"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    run_jobs()
    _assert_completed_once(app, gateway, smtp_sink)
    # The customer's "Check again" (the same form) now shows the finished order.
    replay = customer.post("/checkout", data={k: form[k] for k in ("idempotency_key", "review_fingerprint")})
    assert replay.status_code == 303
    assert "Payment received" in customer.get(replay.headers["Location"]).get_data(as_text=True)
    assert len(gateway.charges()) == 1


def test_the_sandbox_webhook_settles_an_attempt_left_pending_by_a_database_drop(
    app,
    behind_proxy,
    proxy,
    drop_database_after_charge,
    signed_in,
    user,
    shop,
    gateway,
    live_server,
    run_jobs,
    smtp_sink,
    runner,
    time_machine,
):
    behind_proxy.config["PAYMENT_SANDBOX_WEBHOOKS"] = True  # the sandbox posts to the live server's webhook
    customer, form = _customer(behind_proxy, signed_in, shop)
    assert _pay_and_lose_the_database(customer, form, proxy).status_code == 202
    run_jobs()  # the webhook delivery, then the emails its settlement queued
    with app.app_context():
        event = db.session.scalar(sa.select(WebhookEvent))
        assert event.type == "charge.succeeded" and event.status == "processed"
    _assert_completed_once(app, gateway, smtp_sink)
    time_machine.move_to(datetime.now(UTC) + LATER)
    assert "nothing to do" in runner.invoke(args=["billing", "reconcile"]).output
    _assert_completed_once(app, gateway)


def test_webhooks_and_reconciliation_racing_over_one_pending_attempt_complete_it_once(
    app, behind_proxy, proxy, drop_database_after_charge, signed_in, user, shop, gateway, time_machine
):
    from app.billing.services import reconcile

    customer, form = _customer(behind_proxy, signed_in, shop)
    assert _pay_and_lose_the_database(customer, form, proxy).status_code == 202
    charge = gateway.charges()[0]
    time_machine.move_to(datetime.now(UTC) + LATER)
    barrier = threading.Barrier(4)
    answers, reports = [], []

    def deliver():  # two distinct events for one charge, as a provider's retries may be
        client = app.test_client()
        barrier.wait()
        answers.append(post_event(client, event_for("charge.succeeded", charge)).json["status"])

    def reconcile_now():
        with app.app_context():
            report = lifecycle.Report()
            barrier.wait()
            reconcile.run(datetime.now(UTC), report)
            reports.append(report)
            db.session.remove()

    threads = [threading.Thread(target=f) for f in (deliver, deliver, reconcile_now, reconcile_now)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(answers) == ["processed", "processed"]  # the later one finds it settled: "already succeeded"
    assert sum(r["checkouts completed"] for r in reports) <= 1
    _assert_completed_once(app, gateway)


@pytest.mark.parametrize("meanwhile", ["subscribed elsewhere", "plan deleted"])
def test_an_order_that_can_no_longer_be_honoured_is_refunded_once_and_the_customer_told(
    app,
    behind_proxy,
    proxy,
    drop_database_after_charge,
    signed_in,
    user,
    shop,
    gateway,
    runner,
    run_jobs,
    smtp_sink,
    time_machine,
    meanwhile,
):
    customer, form = _customer(behind_proxy, signed_in, shop)
    assert _pay_and_lose_the_database(customer, form, proxy).status_code == 202
    with app.app_context():
        if meanwhile == "subscribed elsewhere":
            SubscriptionFactory(user_id=user.id, plan_id=shop["crm_pro"])
        else:
            db.session.execute(sa.delete(Plan).where(Plan.id == shop["analytics_yearly"]))
            db.session.commit()
        subscriptions_before = _count(Subscription)
    for minutes in (16, 32):  # the order is refunded; the next run settles the refund
        time_machine.move_to(datetime.now(UTC) + timedelta(minutes=minutes))
        result = runner.invoke(args=["billing", "reconcile"])
        assert result.exit_code == 0, result.output
        run_jobs()
    assert "settled (succeeded): 1" in result.output
    charge = gateway.charges()[0]
    assert [(r["charge"], r["amount"], r["status"]) for r in gateway.refunds()] == [(charge["id"], 51722, "succeeded")]
    with app.app_context():
        charge_tx = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "charge"))
        refund_tx = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "refund"))
        assert (charge_tx.status, refund_tx.status, refund_tx.parent_id) == ("refunded", "succeeded", charge_tx.id)
        assert db.session.scalar(sa.select(CheckoutAttempt.status)) == "refunded"
        assert _count(Invoice) == 0 and _count(Subscription) == subscriptions_before
        assert _count(Notification, Notification.kind == "order_refunded") == 1
    told = [m for m in smtp_sink.messages if str(m["Subject"]) == "We refunded your payment of $517.22"]
    assert len(told) == 1
    reason = "you already subscribe to Pipeline CRM" if meanwhile == "subscribed elsewhere" else "no longer exists"
    assert reason in smtp_sink.text(told[0])
    replay = customer.post("/checkout", data=form)
    assert replay.status_code in (302, 409)  # the review again (or the cart, when nothing is left to buy)
    assert len(gateway.charges()) == 1 and len(gateway.refunds()) == 1


def test_submitting_the_same_form_again_after_the_drop_finishes_the_order_at_once(
    app, behind_proxy, proxy, drop_database_after_charge, signed_in, user, shop, gateway
):
    customer, form = _customer(behind_proxy, signed_in, shop)
    first = customer.post("/checkout", data=form)
    assert first.status_code == 202
    while_down = customer.post("/checkout", data=form)  # the database still refuses: a page, never a 500
    assert while_down.status_code == 503 and "can't reach our database" in while_down.get_data(as_text=True).replace(
        "&#39;", "'"
    )
    proxy.accept()
    again = customer.post("/checkout", data=form)
    assert again.status_code == 303 and re.search(r"/checkout/complete/", again.headers["Location"])
    assert customer.post("/checkout", data=form).headers["Location"] == again.headers["Location"]
    _assert_completed_once(app, gateway)


def test_a_database_drop_right_after_a_renewal_charge_is_settled_once_and_never_charged_again(
    app, behind_proxy, proxy, drop_database_after_charge, user, shop, gateway, run_jobs, smtp_sink, time_machine
):
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    time_machine.move_to(start)
    with app.app_context():
        save_card(user)
        sub_id = SubscriptionFactory(
            user_id=user.id,
            plan_id=shop["crm_team"],
            current_period_start=start - timedelta(days=28),
            current_period_end=start,
        ).id
    time_machine.move_to(start + timedelta(minutes=1))
    with behind_proxy.app_context():
        with pytest.raises(sa.exc.OperationalError):
            lifecycle.run()
        db.session.remove()
    proxy.accept()
    with app.app_context():  # the invoice and the pending payment were committed before the call
        assert db.session.scalar(sa.select(Transaction.status)) == "pending"
        assert db.session.scalar(sa.select(Invoice.status)) == "open"
        assert lifecycle.run()["charges succeeded"] == 0  # a later run does not bill the period again
        db.session.remove()
    time_machine.move_to(start + timedelta(minutes=17))
    with app.app_context():
        assert lifecycle.run()["pending payments settled (succeeded)"] == 1
        db.session.remove()
    run_jobs()
    assert len(gateway.charges()) == 1
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        invoices = db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == sub_id)).all()
        assert [i.status for i in invoices] == ["paid"] and sub.current_period_start == start
        assert db.session.scalar(sa.select(Transaction.status)) == "succeeded"
    assert [str(m["Subject"]) for m in smtp_sink.messages] == [f"Receipt for invoice {invoices[0].number}"]


def test_flask_billing_reconcile_exits_non_zero_when_the_gateway_does_not_answer(
    app, make_app, user, shop, time_machine
):
    from tests.support.checkout import pending_renewal

    with app.app_context():
        pending_renewal(user, shop["crm_team"])
    time_machine.move_to(datetime.now(UTC) + LATER)
    unreachable = make_app(REDIS_URL="redis://127.0.0.1:1/0", FAKEREDIS_SERVER=None)
    result = unreachable.test_cli_runner().invoke(args=["billing", "reconcile"])
    assert result.exit_code == 1
    assert "payment service did not answer for 1 payment" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Transaction.status)) == "pending"


def test_reconciliation_never_fails_a_checkout_payment_while_a_submit_holds_it(
    app, make_app, signed_in, user, shop, gateway, runner, time_machine
):
    from app.billing import locks

    add_to_cart(signed_in, shop["crm_team"])
    _, key, fingerprint = review(signed_in)
    form = {"idempotency_key": key, "review_fingerprint": fingerprint, **card()}
    down = make_app(REDIS_URL="redis://127.0.0.1:1/0", FAKEREDIS_SERVER=None)  # the gateway does not answer
    customer = down.test_client()
    customer.set_cookie("session", signed_in.get_cookie("session").value)
    assert customer.post("/checkout", data=form).status_code == 502
    time_machine.move_to(datetime.now(UTC) + LATER)
    with app.app_context(), locks.checkout_lock(user.id):  # a retried submit is about to charge it
        result = runner.invoke(args=["billing", "reconcile"])
        assert "pending payments still in flight: 1" in result.output
        assert db.session.scalar(sa.select(Transaction.status)) == "pending"
        db.session.remove()
    result = runner.invoke(args=["billing", "reconcile"])
    assert "checkouts declined: 1" in result.output  # the gateway never saw it, and nobody is charging it
    declined = signed_in.post("/checkout", data=form)
    assert declined.status_code == 402 and "never reached the payment service" in declined.get_data(as_text=True)
    assert gateway.charges() == []
