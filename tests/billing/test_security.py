"""CSRF on every billing form; the webhook is proven by its signature instead."""

import json

import pytest

from app.billing.gateway import signing
from app.extensions import db
from tests.support.users import make_user, sign_in


@pytest.fixture
def csrf_client(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username="grace"))
        db.session.remove()
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/cart/add",
        "/checkout",
        "/subscriptions/trial",
        "/payment-method",
        "/cart/00000000-0000-4000-8000-000000000000/remove",
        "/subscriptions/00000000-0000-4000-8000-000000000000/cancel",
        "/subscriptions/00000000-0000-4000-8000-000000000000/change",
        "/subscriptions/00000000-0000-4000-8000-000000000000/change/cancel",
    ],
)
def test_billing_forms_without_a_csrf_token_are_refused(csrf_client, path):
    response = csrf_client.post(path, data={"plan_id": "x"})
    assert response.status_code == 400
    assert "Your form expired" in response.get_data(as_text=True)


def test_the_webhook_needs_no_csrf_token_but_a_signature(csrf_client):
    body = json.dumps({"id": "evt_x", "type": "charge.dispute", "data": {"object": {"id": "ch_x"}}}).encode()
    unsigned = csrf_client.post("/payment/webhook", data=body)
    signed = csrf_client.post(
        "/payment/webhook", data=body, headers={signing.HEADER: signing.sign(body, ["whsec_test_current"])}
    )
    assert unsigned.status_code == 400 and "signature" in unsigned.json["error"]
    assert signed.status_code == 200 and signed.json["status"] == "ignored"
