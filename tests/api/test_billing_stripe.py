"""A purchase over the API with Stripe (localstripe): the app asks for a SetupIntent, confirms the card with
Stripe itself, and sends only the SetupIntent's id; one PaymentIntent is charged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, Transaction
from tests.api.conftest import api_login, bearer, problem_of
from tests.support.checkout import catalog, ids
from tests.support.stripe_cards import confirm_setup
from tests.support.users import make_user

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(stripe_app, localstripe):
    localstripe.flush()
    with stripe_app.app_context():
        result = ids(catalog())
        make_user(username="ada", email="ada@example.com")
        db.session.remove()
    return result


def _setup_intent(client, headers, localstripe, number="4242424242424242") -> str:
    answer = client.post("/api/v1/payments/card-setup", headers=headers)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    confirm_setup(localstripe, body["client_secret"], number)
    return body["setup_intent"]


def test_a_purchase_with_a_confirmed_setup_intent_charges_one_payment_intent(stripe_app, client, shop, localstripe):
    headers = bearer(api_login(client, "ada")["access_token"])
    body = {"items": [{"plan_id": str(shop["crm_team"])}], "setup_intent": _setup_intent(client, headers, localstripe)}
    keyed = {**headers, "Idempotency-Key": "stripe-order-1"}
    bought = client.post("/api/v1/subscriptions/purchase", json=body, headers=keyed)
    assert bought.status_code == 201, bought.get_data(as_text=True)
    assert bought.get_json()["status"] == "paid"
    assert client.post("/api/v1/subscriptions/purchase", json=body, headers=keyed).get_json() == bought.get_json()
    intents = localstripe.api("GET", "payment_intents")["data"]
    assert [pi["status"] for pi in intents] == ["succeeded"]
    with stripe_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 1
        assert db.session.scalar(sa.select(Invoice.status)) == "paid"


def test_with_stripe_card_fields_without_a_setup_intent_are_refused_naming_the_setup_intent(client, shop):
    headers = bearer(api_login(client, "ada")["access_token"])
    card = {"number": "4242424242424242", "expiry": "12/34", "cvc": "123", "name": "Ada"}
    refused = client.post(
        "/api/v1/subscriptions/purchase",
        json={"items": [{"plan_id": str(shop["crm_team"])}], "card": card},
        headers=headers,
    )
    assert "setup_intent" in problem_of(refused, 422)["errors"]
