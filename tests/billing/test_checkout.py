import html as html_lib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, InvoiceLine, PaymentMethod, Subscription, Transaction
from app.models.catalog import Plan
from app.models.checkout import CartItem, CheckoutAttempt
from app.models.notification import Notification
from app.models.outbox import OutboxMessage
from tests.factories import PlanFactory, ProductFactory
from tests.support.checkout import CARD_DECLINED, CARD_NO_FUNDS, add_to_cart, card, pay, review


def _fill_cart(client, shop):
    add_to_cart(client, shop["crm_team"])
    add_to_cart(client, shop["analytics_yearly"])


def _invoices(user_id):
    return db.session.scalars(sa.select(Invoice).where(Invoice.user_id == user_id).order_by(Invoice.number)).all()


def test_review_lists_each_line_with_its_discount_the_fee_as_its_own_line_and_the_total(signed_in, shop):
    _fill_cart(signed_in, shop)
    html, key, fingerprint = review(signed_in)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    # CRM $49.00, no discount; Analytics $468.00 − 10 % ($46.80) = $421.20; fee 10 % per line: $4.90 + $42.12.
    assert "Pipeline CRM" in text and "Insight Analytics" in text
    assert "−$46.80" in text and "10% off" in text
    assert "Platform fee" in text and "$47.02" in text
    assert "Total due today $517.22" in text
    assert len(key) >= 16 and len(fingerprint) == 64


def test_paying_by_card_charges_once_and_issues_one_paid_invoice_per_subscription(app, signed_in, user, shop, gateway):
    _fill_cart(signed_in, shop)
    response = pay(signed_in)
    assert response.status_code == 303
    done = signed_in.get(response.headers["Location"])
    assert done.status_code == 200 and "Payment received" in done.get_data(as_text=True)
    charges = gateway.charges()
    assert [(c["amount"], c["status"]) for c in charges] == [(51722, "succeeded")]
    with app.app_context():
        subs = db.session.scalars(sa.select(Subscription).where(Subscription.user_id == user.id)).all()
        assert sorted(s.status for s in subs) == ["active", "active"]
        invoices = _invoices(user.id)
        assert len(invoices) == 2 and {i.subscription_id for i in invoices} == {s.id for s in subs}
        tx = db.session.scalar(sa.select(Transaction))
        assert tx.status == "succeeded" and tx.amount == 51722 and tx.gateway_reference == charges[0]["id"]
        for invoice in invoices:
            lines = db.session.scalars(sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
            assert invoice.status == "paid" and invoice.transaction_id == tx.id
            assert re.fullmatch(r"INV-\d{4}-\d{6}", invoice.number)
            assert invoice.total == sum(line.amount for line in lines)
            assert invoice.total == invoice.subtotal - invoice.discount + invoice.fee
        assert sum(i.total for i in invoices) == tx.amount
        yearly = next(i for i in invoices if i.discount)
        assert (yearly.subtotal, yearly.discount, yearly.fee, yearly.total) == (46800, 4680, 4212, 46332)
        card_row = db.session.scalar(sa.select(PaymentMethod))
        assert (card_row.brand, card_row.last4) == ("Visa", "4242") and "4242424242424242" not in card_row.token
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CartItem)) == 0
        kinds = sorted(n.kind for n in db.session.scalars(sa.select(Notification)))
        assert kinds == ["payment_receipt"] * 2 + ["subscription_activated"] * 2
        emails = [m.args[0]["template"] for m in db.session.scalars(sa.select(OutboxMessage))]
        assert sorted(emails) == sorted(kinds)


@pytest.mark.parametrize(
    "number,reason",
    [
        (CARD_DECLINED, "Your card was declined"),
        (CARD_NO_FUNDS, "insufficient funds"),
    ],
)
def test_a_declined_card_is_explained_and_nothing_is_charged_or_invoiced(
    app, signed_in, user, shop, gateway, number, reason
):
    _fill_cart(signed_in, shop)
    response = pay(signed_in, card(number))
    html = response.get_data(as_text=True)
    assert response.status_code == 402
    assert "Payment declined" in html and reason in html and "Nothing was charged" in html
    assert [c["status"] for c in gateway.charges()] == ["failed"]
    with app.app_context():
        assert _invoices(user.id) == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0
        assert db.session.scalar(sa.select(Transaction.status)) == "failed"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentMethod)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CartItem)) == 2


def test_after_a_decline_the_page_carries_a_fresh_key_and_another_card_goes_through(app, signed_in, user, shop):
    _fill_cart(signed_in, shop)
    declined = pay(signed_in, card(CARD_DECLINED))
    html = declined.get_data(as_text=True)
    new_key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    fingerprint = re.search(r'name="review_fingerprint" value="([^"]+)"', html).group(1)
    ok = pay(signed_in, key=new_key, fingerprint=fingerprint)
    assert ok.status_code == 303
    with app.app_context():
        assert [i.status for i in _invoices(user.id)] == ["paid", "paid"]


def test_paying_by_bank_transfer_opens_invoices_due_in_14_days_and_starts_the_subscriptions(
    app, signed_in, user, shop, gateway
):
    _fill_cart(signed_in, shop)
    response = pay(signed_in, {"payment_method": "bank_transfer"})
    assert response.status_code == 303
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bank details" in page and "IBAN" in page
    assert gateway.charges() == []
    with app.app_context():
        invoices = _invoices(user.id)
        assert [i.status for i in invoices] == ["open", "open"]
        for invoice in invoices:
            assert invoice.payment_method == "bank_transfer"
            assert abs(invoice.due_at - (invoice.issued_at + timedelta(days=14))) < timedelta(seconds=1)
        subs = db.session.scalars(sa.select(Subscription)).all()
        assert {(s.status, s.billing_method) for s in subs} == {("active", "bank_transfer")}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 0


def test_submitting_the_same_key_again_replays_the_first_result(app, signed_in, user, shop, gateway):
    _fill_cart(signed_in, shop)
    _, key, fingerprint = review(signed_in)
    first = pay(signed_in, key=key, fingerprint=fingerprint)
    again = pay(signed_in, key=key, fingerprint=fingerprint)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(gateway.charges()) == 1
    with app.app_context():
        assert len(_invoices(user.id)) == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckoutAttempt)) == 1


def test_a_replayed_decline_does_not_charge_again(app, signed_in, shop, gateway):
    _fill_cart(signed_in, shop)
    _, key, fingerprint = review(signed_in)
    first = pay(signed_in, card(CARD_DECLINED), key=key, fingerprint=fingerprint)
    again = pay(signed_in, card(CARD_DECLINED), key=key, fingerprint=fingerprint)
    assert first.status_code == again.status_code == 402
    assert len(gateway.charges()) == 1


def test_the_same_key_with_a_different_cart_is_refused(app, signed_in, user, shop, gateway):
    add_to_cart(signed_in, shop["crm_team"])
    _, key, fingerprint = review(signed_in)
    assert pay(signed_in, key=key, fingerprint=fingerprint).status_code == 303
    add_to_cart(signed_in, shop["analytics_yearly"])
    _, _, other_fingerprint = review(signed_in)
    refused = pay(signed_in, key=key, fingerprint=other_fingerprint)
    assert refused.status_code == 409
    assert "already submitted for a different cart" in refused.get_data(as_text=True)
    assert len(gateway.charges()) == 1
    with app.app_context():
        assert len(_invoices(user.id)) == 1


def test_a_price_changed_while_in_the_cart_is_shown_and_asked_again(app, signed_in, user, shop, gateway):
    _fill_cart(signed_in, shop)
    _, key, fingerprint = review(signed_in)
    with app.app_context():
        db.session.execute(sa.update(Plan).where(Plan.id == shop["crm_team"]).values(price=5900))
        db.session.commit()
    response = pay(signed_in, key=key, fingerprint=fingerprint)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed since you reviewed it" in html and "$59.00" in html
    assert gateway.charges() == []
    with app.app_context():
        assert _invoices(user.id) == []
    # The new review is what gets paid.
    assert pay(signed_in).status_code == 303
    assert gateway.charges()[0]["amount"] == 52822


def test_a_plan_retired_while_in_the_cart_blocks_checkout_with_a_message(app, signed_in, user, shop, gateway):
    _fill_cart(signed_in, shop)
    _, key, fingerprint = review(signed_in)
    with app.app_context():
        db.session.execute(sa.update(Plan).where(Plan.id == shop["analytics_yearly"]).values(is_active=False))
        db.session.commit()
    response = pay(signed_in, key=key, fingerprint=fingerprint)
    assert response.status_code == 409
    assert "no longer sold" in response.get_data(as_text=True)
    cart_page = signed_in.get("/cart").get_data(as_text=True)
    assert "no longer sold" in cart_page and 'aria-disabled="true"' in cart_page
    assert gateway.charges() == []
    with app.app_context():
        assert _invoices(user.id) == []


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("card_number", "4242 4242 4242 4241", "isn't valid"),
        ("card_number", "4242", "12 to 19 digits"),
        ("card_number", "", "Enter your card number"),
        ("card_number", "４２４２４２４２４２４２４２４２", "12 to 19 digits"),
        ("card_number", "' OR 1=1 --", "12 to 19 digits"),
        ("card_expiry", "01/20", "expired"),
        ("card_expiry", "13/30", "between 01 and 12"),
        ("card_expiry", "2030-01", "MM/YY"),
        ("card_cvc", "12", "3 digits"),
        ("card_cvc", "abc", "3 digits"),
        ("card_name", "", "name on the card"),
        ("card_name", "<script>alert(1)</script>", "letters printed"),
        ("card_name", "Ada\u200bLovelace", "letters printed"),
        ("card_name", "A" * 101, "under 100"),
    ],
)
def test_bad_card_details_get_a_message_next_to_the_field_and_change_nothing(
    app, signed_in, user, shop, gateway, field, value, message
):
    _fill_cart(signed_in, shop)
    response = pay(signed_in, card(**{field: value}))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', html)
    assert error and message in html_lib.unescape(error.group(1))
    assert "<script>alert(1)</script>" not in html
    assert gateway.charges() == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckoutAttempt)) == 0
        assert _invoices(user.id) == []


@pytest.mark.parametrize(
    "data,status",
    [
        ({"idempotency_key": "short"}, 400),
        ({"idempotency_key": "x" * 200}, 400),
        ({"idempotency_key": "<script>alert(1)</script>xxxx"}, 400),
        ({"payment_method": "bitcoin"}, 400),
        ({"review_fingerprint": "tampered"}, 409),
    ],
)
def test_a_tampered_checkout_form_is_refused_without_charging(app, signed_in, user, shop, gateway, data, status):
    _fill_cart(signed_in, shop)
    _, key, fingerprint = review(signed_in)
    form = {"idempotency_key": key, "review_fingerprint": fingerprint, **card(), **data}
    response = signed_in.post("/checkout", data=form)
    assert response.status_code == status
    assert gateway.charges() == []
    with app.app_context():
        assert _invoices(user.id) == []


def test_checkout_sends_a_visitor_to_log_in_and_keeps_their_cart(client, shop):
    add_to_cart(client, shop["crm_team"])
    for response in (client.get("/checkout"), client.post("/checkout", data=card())):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")
    assert "Team" in client.get("/cart").get_data(as_text=True)


def test_checkout_asks_each_product_for_its_required_details(app, signed_in, user, gateway):
    from tests.support.checkout import SCHEMA

    with app.app_context():
        product = ProductFactory(name="Helpdesk", product_schema=SCHEMA)
        plan_id, slug = PlanFactory(product=product).id, product.slug
    add_to_cart(signed_in, plan_id)
    html, key, fingerprint = review(signed_in)
    assert f'name="a-{slug}-company_name"' in html
    missing = pay(signed_in, key=key, fingerprint=fingerprint)
    assert missing.status_code == 400 and "Company name is required" in missing.get_data(as_text=True)
    assert gateway.charges() == []
    ok = pay(
        signed_in,
        {**card(), f"a-{slug}-company_name": "Acme", f"a-{slug}-seats": "12"},
        key=key,
        fingerprint=fingerprint,
    )
    assert ok.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Subscription.answers)) == {"company_name": "Acme", "seats": 12}


def test_buying_a_product_on_trial_converts_the_trial_in_place(app, signed_in, user, shop):
    signed_in.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])})
    add_to_cart(signed_in, shop["crm_pro"])
    assert pay(signed_in).status_code == 303
    with app.app_context():
        subs = db.session.scalars(sa.select(Subscription)).all()
        assert len(subs) == 1
        assert subs[0].status == "active" and subs[0].plan_id == shop["crm_pro"] and subs[0].trial_end is not None
        assert subs[0].current_period_end > utcnow() + timedelta(days=27)


def test_another_users_order_confirmation_is_a_404(app, signed_in, shop):
    _fill_cart(signed_in, shop)
    location = pay(signed_in).headers["Location"]
    from tests.support.users import make_user, sign_in

    mallory = app.test_client()
    with app.app_context():
        sign_in(mallory, make_user(username="mallory"))
    assert mallory.get(location).status_code == 404
    assert mallory.get("/checkout/complete/not-an-id").status_code == 404
    assert signed_in.get(location).status_code == 200
