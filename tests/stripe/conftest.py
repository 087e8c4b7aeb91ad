import pytest
import stripe as stripe_sdk

from app.extensions import db
from tests.support import checkout
from tests.support.localstripe import SECRET_KEY


@pytest.fixture
def shop(stripe_app):
    """The demo catalog's ids (crm_team, crm_pro, analytics_yearly …), in the app configured for Stripe."""
    with stripe_app.app_context():
        ids = checkout.ids(checkout.catalog())
        db.session.remove()
    return ids


@pytest.fixture
def client_sdk(localstripe):
    """The official SDK pointed at localstripe, as the adapter's client is."""
    return stripe_sdk.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.base})


@pytest.fixture
def stripe(stripe_app, localstripe):
    """The app on Stripe (localstripe), emptied first: a test without stripe_app may have left objects there."""
    localstripe.flush()
    return stripe_app
