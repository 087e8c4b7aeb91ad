"""The harness itself: localstripe answers the official SDK on loopback and serves its fake Stripe.js."""

import requests
import stripe

from tests.support.localstripe import SECRET_KEY


def test_the_emulator_answers_the_official_sdk_and_serves_stripe_js(localstripe):
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.base})
    customer = client.v1.customers.create(params={"email": "harness@example.com"})
    assert customer.id.startswith("cus_")
    assert localstripe.api("GET", f"customers/{customer.id}")["email"] == "harness@example.com"
    script = requests.get(localstripe.js_url, timeout=5)
    assert script.ok and "Stripe" in script.text
