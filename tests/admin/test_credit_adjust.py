"""Staff adjust a customer's credit balance on the admin user page: permission, bad input, the audit trail."""

import html
import re
import uuid

import pytest
import sqlalchemy as sa

from app.billing import credit
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.credit import CreditEntry
from tests.support.users import make_user


@pytest.fixture
def customer_id(app):
    with app.app_context():
        return make_user(username="ada").id


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _events(app) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "credit.adjusted")).all()
        db.session.expunge_all()
        return list(rows)


def _balance(app, user_id, currency="USD") -> int:
    with app.app_context():
        return credit.balance_of(user_id, currency)


def _entries(app, user_id) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(CreditEntry).where(CreditEntry.user_id == user_id)
        )


def test_an_admin_adds_and_takes_credit_with_a_reason_and_the_audit_trail_says_so(app, admin_client, customer_id):
    url = f"/admin/users/{customer_id}/credit"
    added = admin_client.post(url, data={"amount": "12.50", "currency": "usd", "reason": "Outage in May"})
    assert added.status_code == 303
    page = _text(admin_client.get(added.headers["Location"]))
    assert "Credit balance adjusted: $12.50 USD now." in page and "Outage in May" in page
    taken = admin_client.post(url, data={"amount": "-2.50", "currency": "USD", "reason": "Typo in the first"})
    assert taken.status_code == 303
    assert _balance(app, customer_id) == 1000
    first, second = sorted(_events(app), key=lambda e: e.after["balance"], reverse=True)
    assert first.actor_id == admin_client.user_id and first.target_id == str(customer_id)
    assert (first.before["balance"], first.after["balance"], first.after["reason"]) == (0, 1250, "Outage in May")
    assert (second.after["amount"], second.after["balance"]) == (-250, 1000)
    audit_page = _text(admin_client.get("/admin/audit"))
    assert "root changed the credit balance of ada by +$12.50 to $12.50 (Outage in May)" in audit_page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"amount": "", "currency": "USD", "reason": "x"}, "amount", "Enter an amount such as 5.00"),
        ({"amount": "five", "currency": "USD", "reason": "x"}, "amount", "Enter an amount such as 5.00"),
        ({"amount": "1.234", "currency": "USD", "reason": "x"}, "amount", "Enter an amount such as 5.00"),
        ({"amount": "0", "currency": "USD", "reason": "x"}, "amount", "Enter an amount such as 5.00"),
        ({"amount": "NaN", "currency": "USD", "reason": "x"}, "amount", "Enter an amount such as 5.00"),
        ({"amount": "1e30", "currency": "USD", "reason": "x"}, "amount", "too large"),
        ({"amount": "5.00", "currency": "DOLLARS", "reason": "x"}, "currency", "three-letter currency code"),
        ({"amount": "5.00", "currency": "USD", "reason": "   "}, "reason", "Say why the balance changes"),
        ({"amount": "5.00", "currency": "USD", "reason": "x" * 301}, "reason", "under 300 characters"),
        ({"amount": "-0.01", "currency": "USD", "reason": "x"}, "amount", "can't go below zero"),
    ],
)
def test_bad_input_is_a_400_with_the_message_by_the_field_and_changes_nothing(
    app, admin_client, customer_id, form, field, message
):
    response = admin_client.post(f"/admin/users/{customer_id}/credit", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and f'id="{field}-error"' in page and message in _text(response)
    assert _entries(app, customer_id) == 0 and _events(app) == []


def test_taking_more_than_the_balance_is_refused_and_says_what_it_is(app, admin_client, customer_id):
    admin_client.post(f"/admin/users/{customer_id}/credit", data={"amount": "3", "currency": "USD", "reason": "a"})
    response = admin_client.post(
        f"/admin/users/{customer_id}/credit", data={"amount": "-3.01", "currency": "USD", "reason": "b"}
    )
    assert response.status_code == 400 and "The balance is $3.00: it can't go below zero" in _text(response)
    assert _balance(app, customer_id) == 300 and len(_events(app)) == 1


def test_support_staff_see_the_balance_but_cannot_adjust_it(app, support_client, customer_id):
    with app.app_context():
        credit.add_credit(customer_id, "USD", 700, "refund", reason="Refund to balance")
        db.session.commit()
    page = support_client.get(f"/admin/users/{customer_id}")
    assert page.status_code == 200 and "$7.00 USD" in _text(page)
    assert "Adjust balance" not in page.get_data(as_text=True)
    response = support_client.post(
        f"/admin/users/{customer_id}/credit", data={"amount": "5", "currency": "USD", "reason": "x"}
    )
    assert response.status_code == 403
    assert _balance(app, customer_id) == 700 and _events(app) == []


def test_a_customer_cannot_adjust_anyones_balance(app, customer_client, customer_id):
    response = customer_client.post(
        f"/admin/users/{customer_id}/credit", data={"amount": "5", "currency": "USD", "reason": "x"}
    )
    assert response.status_code in (403, 404)
    assert _balance(app, customer_id) == 0


def test_an_unknown_user_is_a_404(app, admin_client):
    response = admin_client.post(
        f"/admin/users/{uuid.uuid4()}/credit", data={"amount": "5", "currency": "USD", "reason": "x"}
    )
    assert response.status_code == 404 and _events(app) == []


def test_the_adjustment_needs_the_csrf_token(app, customer_id):
    from tests.support.users import sign_in

    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        with app.app_context():
            sign_in(client, make_user(username="root", role="admin"))
        response = client.post(
            f"/admin/users/{customer_id}/credit", data={"amount": "5", "currency": "USD", "reason": "x"}
        )
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert _balance(app, customer_id) == 0
