"""Every billing form and URL, swept with hostile values: always a 4xx or a normal page, never a 5xx."""

import json
import uuid

import pytest

from app.billing.gateway import signing
from app.extensions import db
from tests.factories import PlanFactory, ProductFactory
from tests.support import hostile
from tests.support.checkout import SCHEMA, add_to_cart, review

VALUES = hostile.VALUES


@pytest.fixture
def setup(app, signed_in, shop):
    with app.app_context():
        plan = PlanFactory(product=ProductFactory(name="Helpdesk", product_schema=SCHEMA))
        helpdesk = plan.id
        db.session.remove()
    add_to_cart(signed_in, shop["crm_team"])
    _, key, fingerprint = review(signed_in)
    signed_in.post("/subscriptions/trial", data={"plan_id": str(shop["analytics_yearly"])})
    page = signed_in.get("/subscriptions/").get_data(as_text=True)
    sub_id = page.split('id="sub-', 1)[1].split('"', 1)[0]
    return {"key": key, "fingerprint": fingerprint, "sub": sub_id, "helpdesk": str(helpdesk), "crm": str(shop["crm"])}


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_hostile_values_never_cause_a_server_error(app, signed_in, setup, value):
    posts = [
        ("/cart/add", {"plan_id": value}),
        ("/cart/add", {"plan_id": setup["helpdesk"], "quantity": value}),
        (f"/cart/{setup['crm']}/quantity", {"quantity": value}),
        (f"/cart/{value or 'x'}/quantity", {"quantity": "2"}),
        (f"/cart/{value or 'x'}/remove", {}),
        ("/checkout", {"idempotency_key": value, "review_fingerprint": setup["fingerprint"]}),
        ("/checkout", {"idempotency_key": setup["key"], "review_fingerprint": value}),
        (
            "/checkout",
            {"idempotency_key": setup["key"], "review_fingerprint": setup["fingerprint"], "payment_method": value},
        ),
        (
            "/checkout",
            {
                "idempotency_key": str(uuid.uuid4()),
                "review_fingerprint": setup["fingerprint"],
                "card_number": value,
                "card_expiry": value,
                "card_cvc": value,
                "card_name": value,
            },
        ),
        ("/subscriptions/trial", {"plan_id": value}),
        (
            "/subscriptions/trial",
            {"plan_id": setup["helpdesk"], "answers_submitted": "1", "company_name": value, "seats": value},
        ),
        (
            "/subscriptions/trial",
            {"plan_id": setup["helpdesk"], "answers_submitted": "1", "company_name": value, "seats": "5"},
        ),
        (f"/subscriptions/{setup['sub']}/auto-renew", {"auto_renew": value}),
        (f"/subscriptions/{setup['sub']}/cancel", {"when": value}),
        (f"/subscriptions/{value or 'x'}/resume", {}),
        ("/payment-method", {"card_number": value, "card_expiry": value, "card_cvc": value, "card_name": value}),
    ]
    for path, data in posts:
        response = signed_in.post(path, data=data)
        assert response.status_code < 500, (path, data, response.status_code)
    for path in (
        f"/invoices/{value}",
        f"/invoices/{value}.pdf",
        f"/checkout/complete/{value}",
        f"/invoices/?page={value}",
    ):
        assert signed_in.get(path).status_code < 500, path
    body = json.dumps({"id": value or "evt", "type": value, "data": {"object": {"id": value, "failure_code": value}}})
    response = signed_in.post(
        "/payment/webhook",
        data=body.encode(),
        headers={signing.HEADER: signing.sign(body.encode(), ["whsec_test_current"])},
    )
    assert response.status_code < 500
