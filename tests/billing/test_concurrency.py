"""Races on PostgreSQL: many submits with one idempotency key, many invoices finalized at once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.billing import invoices as invoice_service
from app.billing.pricing import price_line
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from app.models.catalog import Plan, Product
from app.models.checkout import CheckoutAttempt
from tests.support.checkout import add_to_cart, card, change_form, held_subscription, review

pytestmark = pytest.mark.postgres


def _run_together(count: int, work):
    barrier = threading.Barrier(count)

    def task(i):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(task, range(count)))


def test_fifty_concurrent_submits_with_one_key_charge_once_and_invoice_each_subscription_once(
    app, signed_in, user, shop, gateway
):
    add_to_cart(signed_in, shop["crm_team"])
    add_to_cart(signed_in, shop["analytics_yearly"])
    _, key, fingerprint = review(signed_in)
    cookie = signed_in.get_cookie("session").value
    form = {"idempotency_key": key, "review_fingerprint": fingerprint, **card()}

    def submit(_):
        client = app.test_client()
        client.set_cookie("session", cookie)
        with app.app_context():
            response = client.post("/checkout", data=form)
        return response.status_code, response.headers.get("Location")

    results = _run_together(50, submit)
    assert {status for status, _ in results} == {303}
    assert len({location for _, location in results}) == 1
    assert len(gateway.charges()) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckoutAttempt)) == 1
        subs = db.session.scalars(sa.select(Subscription)).all()
        assert len(subs) == 2
        per_sub = db.session.execute(
            sa.select(Invoice.subscription_id, sa.func.count()).group_by(Invoice.subscription_id)
        ).all()
        assert sorted(count for _, count in per_sub) == [1, 1]
        assert {row[0] for row in per_sub} == {s.id for s in subs}


def test_two_tabs_paying_the_same_cart_with_different_keys_at_once_charge_once(app, signed_in, user, shop, gateway):
    add_to_cart(signed_in, shop["crm_team"])
    cookie = signed_in.get_cookie("session").value
    forms = []
    for _ in range(2):  # two review pages, two idempotency keys
        _, key, fingerprint = review(signed_in)
        forms.append({"idempotency_key": key, "review_fingerprint": fingerprint, **card()})

    def submit(i):
        client = app.test_client()
        client.set_cookie("session", cookie)
        return client.post("/checkout", data=forms[i])

    results = _run_together(2, submit)
    done = [r for r in results if "/checkout/complete/" in r.headers.get("Location", "")]
    # The other is told it already subscribes (409), or finds its cart emptied by the first (back to the cart).
    assert len(done) == 1 and {r.status_code for r in results if r not in done} <= {409, 303}
    assert len(gateway.charges()) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 1


def test_twenty_concurrent_finalizations_get_twenty_distinct_contiguous_numbers(app, user, shop):
    with app.app_context():
        plan, product = db.session.execute(
            sa.select(Plan, Product).join(Product).where(Plan.id == shop["crm_team"])
        ).one()
        line = price_line(plan, product, 1, 0)
        now = utcnow()
        drafts = [
            invoice_service.draft_invoice(
                user=db.session.merge(user),
                line=line,
                subscription_id=None,
                method="card",
                label="Visa •••• 4242",
                period=(now, now),
            )
            for _ in range(20)
        ]
        db.session.commit()
        draft_ids = [d.id for d in drafts]

    def finalize(i):
        with app.app_context():
            try:
                return invoice_service.finalize_invoice(draft_ids[i], now=utcnow()).number
            finally:
                db.session.remove()

    numbers = _run_together(20, finalize)
    year = utcnow().year
    assert len(set(numbers)) == 20
    assert sorted(numbers) == [f"INV-{year}-{n:06d}" for n in range(1, 21)]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.status == "open")) == 20


def _held(app, user, shop):
    with app.app_context():
        return held_subscription(user.id, shop["crm_team"])


def test_ten_concurrent_submits_of_one_plan_change_charge_once_and_apply_it_once(app, signed_in, user, shop, gateway):
    from app.models.billing import PlanChange

    sub_id = _held(app, user, shop)
    form = change_form(signed_in, sub_id, shop["crm_pro"])
    cookie = signed_in.get_cookie("session").value

    def submit(_):
        client = app.test_client()
        client.set_cookie("session", cookie)
        return client.post(f"/subscriptions/{sub_id}/change", data=form).status_code

    assert set(_run_together(10, submit)) == {303}
    assert len(gateway.charges()) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 1
        assert db.session.get(Subscription, sub_id).plan_id == shop["crm_pro"]


def test_two_tabs_confirming_the_same_upgrade_with_different_keys_at_once_charge_once(
    app, signed_in, user, shop, gateway
):
    sub_id = _held(app, user, shop)
    forms = [change_form(signed_in, sub_id, shop["crm_pro"]) for _ in range(2)]
    cookie = signed_in.get_cookie("session").value

    def submit(i):
        client = app.test_client()
        client.set_cookie("session", cookie)
        return client.post(f"/subscriptions/{sub_id}/change", data=forms[i]).status_code

    statuses = sorted(_run_together(2, submit))
    # The second finds the plan already switched: "already on Pro" (400) or the new preview (409).
    assert statuses.count(303) == 1 and set(statuses) - {303} <= {400, 409}
    assert len(gateway.charges()) == 1
