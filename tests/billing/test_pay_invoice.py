"""Paying an open invoice now, with the sandbox over HTTP: the declined renewal's email link, the card
fields, the attempt recorded once, the subscription active again; and the routes' ownership, CSRF
and bad input."""

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import Invoice, PaymentMethod, Transaction
from app.models.catalog import Plan
from app.models.notification import Notification
from app.models.user import User
from tests.factories import InvoiceFactory
from tests.support.checkout import CARD_DECLINED, CARD_OK, CARD_RENEWAL_DECLINES, card, hidden
from tests.support.renewals import billing_run, due_subscription, end_period_now, pay_link, state
from tests.support.users import make_user, sign_in


def _fields(number=CARD_OK, **overrides):
    fields = card(number, **overrides)
    fields.pop("payment_method")
    return fields


def _declined_renewal(app, client, user, plan_id):
    """A renewal that went through on 4242, then the customer's switch to 0341 and its declined renewal."""
    assert client.post("/payment-method", data=_fields(CARD_OK)).status_code == 303
    sub_id = due_subscription(app, user, plan_id)
    assert "charges succeeded: 1" in billing_run(app)
    assert client.post("/payment-method", data=_fields(CARD_RENEWAL_DECLINES)).status_code == 303
    end_period_now(app, sub_id)
    assert "charges failed: 1" in billing_run(app)
    return sub_id


def _open_invoice(app, sub_id) -> Invoice:
    _, invoices, _ = state(app, sub_id)
    [invoice] = [i for i in invoices if i.status == "open"]
    return invoice


def test_a_declined_renewal_emails_a_link_that_pays_the_invoice_and_makes_the_subscription_active(
    app, signed_in, user, shop, gateway, smtp_sink, run_jobs
):
    sub_id = _declined_renewal(app, signed_in, user, shop["crm_team"])
    sub, invoices, _ = state(app, sub_id)
    assert sub.status == "past_due" and sub.retry_count == 0 and sub.next_retry_at is not None
    assert [i.status for i in invoices] == ["paid", "open"]
    run_jobs()
    smtp_sink.wait_for(2)
    link = pay_link(smtp_sink, user.email)
    assert urlsplit(link).path == f"/invoices/{invoices[1].id}/pay"

    page = signed_in.get(urlsplit(link).path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"Pay {invoices[1].number}" in html and 'name="card_number"' in html
    data = {"idempotency_key": hidden(html, "idempotency_key"), **_fields(CARD_OK)}
    paid = signed_in.post(urlsplit(link).path, data=data)
    assert paid.status_code == 303 and paid.headers["Location"] == f"/invoices/{invoices[1].id}"

    sub, invoices, txs = state(app, sub_id)
    assert sub.status == "active" and sub.retry_count == 0 and sub.next_retry_at is None
    assert [i.status for i in invoices] == ["paid", "paid"]
    assert (sub.current_period_start, sub.current_period_end) == (invoices[1].period_start, invoices[1].period_end)
    on_session = [t for t in txs if t.purpose == "invoice"]
    assert [(t.status, t.amount, t.currency) for t in on_session] == [("succeeded", invoices[1].total, "USD")]
    charges = [c for c in gateway.charges() if c["idempotency_key"] == on_session[0].idempotency_key]
    assert [c["amount"] for c in charges] == [invoices[1].total]
    assert charges[0]["metadata"]["invoice_ids"] == str(invoices[1].id)

    # The same submit again (a double click, a reload): nothing charged twice, the same answer.
    again = signed_in.post(urlsplit(link).path, data=data)
    assert again.status_code == 303 and again.headers["Location"] == f"/invoices/{invoices[1].id}"
    assert len([c for c in gateway.charges() if c["idempotency_key"] == on_session[0].idempotency_key]) == 1
    with app.app_context():
        card_now = db.session.scalar(sa.select(PaymentMethod).where(PaymentMethod.is_default.is_(True)))
        assert card_now.last4 == "4242"  # the card paid with is the card for renewals now
    # A paid invoice's pay link goes to the invoice.
    assert signed_in.get(urlsplit(link).path).headers["Location"] == f"/invoices/{invoices[1].id}"
    assert "Pay now" not in signed_in.get("/invoices/").get_data(as_text=True)


def test_my_invoices_and_the_notification_lead_to_paying_an_open_invoice(app, signed_in, user, shop):
    sub_id = _declined_renewal(app, signed_in, user, shop["crm_team"])
    invoice = _open_invoice(app, sub_id)
    listing = signed_in.get("/invoices/").get_data(as_text=True)
    assert listing.count("Pay now") == 1 and f'href="/invoices/{invoice.id}/pay"' in listing
    assert f'href="/invoices/{invoice.id}/pay"' in signed_in.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    with app.app_context():
        links = db.session.scalars(
            sa.select(Notification.link).where(Notification.user_id == user.id, Notification.kind == "payment_failed")
        ).all()
    assert links == [f"/invoices/{invoice.id}/pay"]


def test_a_declined_card_on_the_pay_page_is_explained_and_the_invoice_stays_open(app, signed_in, user, shop, gateway):
    sub_id = _declined_renewal(app, signed_in, user, shop["crm_team"])
    invoice = _open_invoice(app, sub_id)
    html = signed_in.get(f"/invoices/{invoice.id}/pay").get_data(as_text=True)
    data = {"idempotency_key": hidden(html, "idempotency_key"), **_fields(CARD_DECLINED)}
    response = signed_in.post(f"/invoices/{invoice.id}/pay", data=data)
    assert response.status_code == 402 and "declined" in response.get_data(as_text=True)
    assert hidden(response.get_data(as_text=True), "idempotency_key") != data["idempotency_key"]
    sub, invoices, txs = state(app, sub_id)
    assert sub.status == "past_due" and sub.retry_count == 0  # the retry schedule is the renewal's, unchanged
    assert invoices[-1].status == "open"
    assert [t.status for t in txs if t.purpose == "invoice"] == ["failed"]


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"card_number": "4242 4242 4242 4241"}, "card_number", "isn&#39;t valid"),
        ({"card_expiry": "13/30"}, "card_expiry", "between 01 and 12"),
        ({"card_cvc": ""}, "card_cvc", ""),
        ({"idempotency_key": "short"}, "idempotency_key", "out of date"),
    ],
)
def test_bad_input_on_the_pay_page_is_a_400_next_to_the_field_and_nothing_is_recorded(
    app, signed_in, user, shop, overrides, field, message
):
    sub_id = _declined_renewal(app, signed_in, user, shop["crm_team"])
    invoice = _open_invoice(app, sub_id)
    html = signed_in.get(f"/invoices/{invoice.id}/pay").get_data(as_text=True)
    data = {"idempotency_key": hidden(html, "idempotency_key"), **_fields(), **overrides}
    response = signed_in.post(f"/invoices/{invoice.id}/pay", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    if field.startswith("card_"):
        assert f'id="{field}-error"' in body
    _, invoices, txs = state(app, sub_id)
    assert invoices[-1].status == "open" and [t for t in txs if t.purpose == "invoice"] == []


def test_another_users_invoice_is_a_404_to_see_pay_or_confirm(app, client, user, shop):
    with app.app_context():
        [theirs] = InvoiceFactory.create_batch(
            1, user=make_user(username="grace"), plan=db.session.get(Plan, shop["crm_team"])
        )
        invoice_id = theirs.id
        sign_in(client, make_user(username="mallory"))
    assert client.get(f"/invoices/{invoice_id}/pay").status_code == 404
    key = "k" * 24
    assert client.post(f"/invoices/{invoice_id}/pay", data={"idempotency_key": key, **_fields()}).status_code == 404
    assert client.get("/invoices/not-a-uuid/pay").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 0


def test_only_open_subscription_invoices_can_be_paid(app, signed_in, user, shop):
    with app.app_context():
        [paid] = InvoiceFactory.create_batch(
            1, user=db.session.get(User, user.id), plan=db.session.get(Plan, shop["crm_team"]), status="paid"
        )
        paid_id, number = paid.id, paid.number
    response = signed_in.get(f"/invoices/{paid_id}/pay")
    assert response.status_code == 303 and response.headers["Location"] == f"/invoices/{paid_id}"
    assert f"{number} is already paid" in signed_in.get(response.headers["Location"]).get_data(as_text=True)
    posted = signed_in.post(f"/invoices/{paid_id}/pay", data={"idempotency_key": "k" * 24, **_fields()})
    assert posted.status_code == 303
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Transaction).where(Transaction.purpose == "invoice")
            )
            == 0
        )


def test_a_payment_under_way_is_not_started_twice_with_another_key(app, signed_in, user, shop):
    sub_id = _declined_renewal(app, signed_in, user, shop["crm_team"])
    invoice = _open_invoice(app, sub_id)
    with app.app_context():  # an attempt whose answer hasn't come yet
        db.session.add(
            Transaction(
                user_id=user.id,
                subscription_id=sub_id,
                kind="charge",
                purpose="invoice",
                status="pending",
                amount=invoice.total,
                currency="USD",
                gateway="sandbox",
                idempotency_key="invoice:x:pending-one",
            )
        )
        db.session.commit()
    html = signed_in.get(f"/invoices/{invoice.id}/pay").get_data(as_text=True)
    data = {"idempotency_key": hidden(html, "idempotency_key"), **_fields()}
    response = signed_in.post(f"/invoices/{invoice.id}/pay", data=data)
    assert response.status_code == 409 and "already under way" in response.get_data(as_text=True)
    _, invoices, txs = state(app, sub_id)
    assert invoices[-1].status == "open" and [t.status for t in txs if t.purpose == "invoice"] == ["pending"]


def test_the_pay_page_needs_a_sign_in(client):
    response = client.get("/invoices/00000000-0000-4000-8000-000000000000/pay")
    assert response.status_code in (302, 303) and "/auth/login" in response.headers["Location"]


def test_paying_records_an_audit_event(app, signed_in, user, shop):
    sub_id = _declined_renewal(app, signed_in, user, shop["crm_team"])
    invoice = _open_invoice(app, sub_id)
    html = signed_in.get(f"/invoices/{invoice.id}/pay").get_data(as_text=True)
    signed_in.post(
        f"/invoices/{invoice.id}/pay", data={"idempotency_key": hidden(html, "idempotency_key"), **_fields()}
    )
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == user.id)).all()
    assert "invoice.payment_started" in actions
