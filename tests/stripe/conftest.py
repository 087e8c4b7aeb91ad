import pytest

from tests.billing.conftest import shop  # noqa: F401 (the same demo catalog the billing tests buy from)


@pytest.fixture
def stripe(stripe_app, localstripe):
    """The app on Stripe (localstripe), emptied first: a test without stripe_app may have left objects there."""
    localstripe.flush()
    return stripe_app
