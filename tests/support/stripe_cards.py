"""Cards at localstripe as a browser gives them: `confirmCardSetup` from its fake Stripe.js, replayed.

The fake Stripe.js (localstripe-v3.js) confirms a SetupIntent by POSTing JSON with the
publishable key and the client secret; these helpers send exactly that, so the server
side (card_from_setup, charge) can be tested without a browser. The Chromium journeys
type the same numbers into the real card element.
"""

from __future__ import annotations

import requests

from app.billing.gateway.base import SavedCard
from app.billing.gateway.stripe import StripeGateway
from app.models.user import User
from tests.support.localstripe import PUBLISHABLE_KEY, LocalStripe


def confirm_setup(localstripe: LocalStripe, client_secret: str, number: str, *, authenticate: bool = True) -> dict:
    """What confirmCardSetup(client_secret, {payment_method: {card}}) does; a card that needs 3-D Secure
    is confirmed again (the modal's "Complete authentication") unless authenticate=False. Returns
    localstripe's answer (a SetupIntent, or {"error": …})."""
    seti = client_secret.split("_secret_")[0]
    card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    body = {
        "key": PUBLISHABLE_KEY,
        "use_stripe_sdk": True,
        "client_secret": client_secret,
        "payment_method_data": {"type": "card", "card": card, "billing_details": {"name": "Ada Buyer"}},
    }
    answer = requests.post(f"{localstripe.base}/v1/setup_intents/{seti}/confirm", json=body, timeout=10).json()
    if answer.get("status") == "requires_action" and authenticate:
        again = {"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": client_secret}
        answer = requests.post(f"{localstripe.base}/v1/setup_intents/{seti}/confirm", json=again, timeout=10).json()
    return answer


def authenticate_payment(localstripe: LocalStripe, client_secret: str, *, success: bool = True) -> dict:
    """What confirmCardPayment(client_secret) does once the customer answers the 3-D Secure modal."""
    pi = client_secret.split("_secret_")[0]
    response = requests.post(
        f"{localstripe.base}/v1/payment_intents/{pi}/_authenticate?success={'true' if success else 'false'}",
        json={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
        timeout=10,
    )
    return response.json()


def saved_card(localstripe: LocalStripe, user: User, number: str = "4242424242424242") -> SavedCard:
    """A card the user confirmed in the browser, as checkout receives it: SetupIntent → card_from_setup."""
    gateway = StripeGateway()
    setup = gateway.create_setup(user)
    confirm_setup(localstripe, setup.client_secret, number)
    return gateway.card_from_setup(setup.id, user)
