"""In Chromium: the database drops the moment the card is charged; the customer is told, clicks Check again
once it is back, and lands on the receipt. One charge, one paid invoice per subscription."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, Subscription
from tests.e2e.test_billing_journeys import add_to_cart, browser_sign_in, fill_card
from tests.support.browser import LiveServer
from tests.support.checkout import catalog, ids

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def served_behind_proxy(behind_proxy):
    server = LiveServer(behind_proxy).start()
    yield server
    server.stop()


def test_a_payment_taken_as_the_database_drops_is_confirmed_and_completed_by_check_again(
    app, behind_proxy, proxy, drop_database_after_charge, served_behind_proxy, page, user, screenshot
):
    from app.billing.gateway.sandbox import SandboxGateway

    with app.app_context():
        shop = ids(catalog())
    server = served_behind_proxy
    browser_sign_in(behind_proxy, page, server, user)
    add_to_cart(page, server, shop["crm_team"])
    add_to_cart(page, server, shop["analytics_yearly"])
    page.goto(server.url("/cart"))
    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("heading", name="Review and pay").wait_for()
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile(r"^Pay \$517\.22")).click()
    page.get_by_role("heading", name="We're confirming your payment").wait_for()
    assert "won't be charged twice" in page.inner_text("main")
    screenshot("billing-confirming-payment")
    proxy.accept()  # the database is back
    page.get_by_role("button", name="Check again").click()
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    assert page.get_by_role("heading", name="Payment received. Thank you!").is_visible()
    assert page.console_errors == []
    assert len(SandboxGateway(app.extensions["redis"]).charges()) == 1
    with app.app_context():
        subs = db.session.scalars(sa.select(Subscription)).all()
        invoices = db.session.scalars(sa.select(Invoice)).all()
        assert sorted((i.subscription_id, i.status) for i in invoices) == sorted((s.id, "paid") for s in subs)
        assert len(subs) == 2
