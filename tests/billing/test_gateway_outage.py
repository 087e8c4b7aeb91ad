"""The payment service unreachable (the sandbox's store is down): nothing is lost, nothing is charged twice."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.billing.services import lifecycle
from app.extensions import db
from app.models.billing import Invoice, Subscription, Transaction
from app.models.checkout import CheckoutAttempt
from tests.factories import SubscriptionFactory
from tests.support.checkout import add_to_cart, card, review, save_card
from tests.support.users import sign_in

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def unreachable(make_app):
    """The same database, with the gateway's store (Redis) unreachable."""
    return make_app(REDIS_URL="redis://127.0.0.1:1/0", FAKEREDIS_SERVER=None)


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_checkout_while_the_gateway_is_down_explains_it_delivers_nothing_and_the_same_form_works_later(
    app, unreachable, user, shop, gateway
):
    down = unreachable.test_client()
    with unreachable.app_context():
        sign_in(down, user)
    add_to_cart(down, shop["crm_team"])
    _, key, fingerprint = review(down)
    form = {"idempotency_key": key, "review_fingerprint": fingerprint, **card()}
    failed = down.post("/checkout", data=form)
    assert failed.status_code == 502
    assert "couldn't reach the payment service" in failed.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        # The attempt was recorded before the call, so the outcome can be asked for later; nothing was delivered.
        assert db.session.scalar(sa.select(CheckoutAttempt.status)) == "unreached"
        assert db.session.scalar(sa.select(Transaction.status)) == "pending"
        assert [_count(m) for m in (Invoice, Subscription)] == [0, 0]
    assert gateway.charges() == []
    # The service is back; the customer submits the very same form again.
    up = app.test_client()
    up.set_cookie("session", down.get_cookie("session").value)
    assert up.post("/checkout", data=form).status_code == 303
    assert len(gateway.charges()) == 1
    with app.app_context():
        assert [_count(m) for m in (Transaction, CheckoutAttempt, Invoice, Subscription)] == [1, 1, 1, 1]
        assert db.session.scalar(sa.select(Transaction.status)) == "succeeded"


def test_a_renewal_the_gateway_did_not_answer_stays_pending_then_reconciliation_settles_it(
    app, unreachable, user, shop, time_machine, gateway
):
    time_machine.move_to(T0, tick=False)
    with app.app_context():
        save_card(user)
        sub_id = SubscriptionFactory(
            user_id=user.id,
            plan_id=shop["crm_team"],
            current_period_start=T0 - timedelta(days=28),
            current_period_end=T0,
        ).id
    time_machine.move_to(T0 + timedelta(minutes=1), tick=False)
    with unreachable.app_context():
        assert lifecycle.run()["charges pending"] == 1
        db.session.remove()
    with unreachable.app_context():  # a second run does not try the same renewal again
        assert lifecycle.run()["charges pending"] == 0
        db.session.remove()
    with app.app_context():
        tx = db.session.scalar(sa.select(Transaction))
        assert tx.status == "pending" and tx.gateway_reference is None
        assert db.session.scalar(sa.select(Invoice.status)) == "open"
        assert db.session.get(Subscription, sub_id).current_period_end == T0
    time_machine.move_to(T0 + timedelta(minutes=17), tick=False)
    with app.app_context():
        report = lifecycle.run()
        assert report["pending payments settled (failed)"] == 1  # the gateway never saw it
        sub = db.session.get(Subscription, sub_id)
        assert sub.status == "past_due" and sub.next_retry_at is not None
    time_machine.move_to(T0 + timedelta(days=1, minutes=5), tick=False)
    with app.app_context():
        assert lifecycle.run()["charges succeeded"] == 1
        sub = db.session.get(Subscription, sub_id)
        assert sub.status == "active" and sub.current_period_start == T0
        assert db.session.scalar(sa.select(Invoice.status)) == "paid"
    assert len(gateway.charges()) == 1


def test_an_upgrade_the_gateway_did_not_answer_changes_nothing_until_reconciliation_settles_it(
    app, unreachable, user, signed_in, shop, gateway
):
    from app.models.billing import PlanChange
    from tests.support.checkout import change_form, held_subscription

    with app.app_context():
        sub_id = held_subscription(user.id, shop["crm_team"])
    form = change_form(signed_in, sub_id, shop["crm_pro"])
    down = unreachable.test_client()
    down.set_cookie("session", signed_in.get_cookie("session").value)
    failed = down.post(f"/subscriptions/{sub_id}/change", data=form)
    assert failed.status_code == 502
    assert "couldn't reach the payment service" in failed.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        # The change, its invoice and the pending payment were committed before the call; the plan is unchanged.
        change = db.session.scalar(sa.select(PlanChange))
        assert change.status == "charging" and db.session.get(Transaction, change.transaction_id).status == "pending"
        assert db.session.get(Subscription, sub_id).plan_id == shop["crm_team"]
    again = signed_in.post(f"/subscriptions/{sub_id}/change", data=form)  # the same form: no second charge
    assert again.status_code == 303 and gateway.charges() == []
    with app.app_context():
        report = lifecycle.run(datetime.now(UTC) + timedelta(minutes=20))
        assert report["pending payments settled (failed)"] == 1  # the gateway never saw it
        change = db.session.scalar(sa.select(PlanChange))
        assert change.status == "declined"
        assert db.session.get(Invoice, change.invoice_id).status == "void"
        assert db.session.get(Subscription, sub_id).plan_id == shop["crm_team"]
    assert gateway.charges() == []


def test_another_change_while_an_upgrade_waits_for_the_gateway_is_refused_with_a_message(
    app, unreachable, user, signed_in, shop, gateway
):
    from tests.factories import PlanFactory
    from tests.support.checkout import change_form, held_subscription

    with app.app_context():
        sub_id = held_subscription(user.id, shop["crm_team"])
        premium = PlanFactory(product_id=shop["crm"], name="Premium", billing_cycle="monthly", price=19900).id
    down = unreachable.test_client()
    down.set_cookie("session", signed_in.get_cookie("session").value)
    assert (
        down.post(f"/subscriptions/{sub_id}/change", data=change_form(signed_in, sub_id, shop["crm_pro"])).status_code
        == 502
    )
    refused = signed_in.post(f"/subscriptions/{sub_id}/change", data=change_form(signed_in, sub_id, premium))
    assert refused.status_code == 409 and "waiting for the payment service" in refused.get_data(as_text=True)
    assert gateway.charges() == []
