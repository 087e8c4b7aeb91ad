"""After a refused form, a reload is a GET that works: a boosted POST never leaves an address without a
GET page in the address bar (it would be a 405 on reload).

Every POST of the billing and catalog pages, sent as a boosted form (HX-Request + HX-Boosted) with an empty
body and with the refusals a customer meets (a plan they subscribe to, a trial already used), as the
customer of `world`. The address the bar then shows is the 303's Location, the HX-Push-Url header, or the
POST's own address (what htmx pushes for a boosted form); each must answer a GET with a page (not 4xx).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models.base import utcnow
from tests.factories import PlanFactory, SubscriptionFactory
from tests.support.routes import fill, rules

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
AREAS = ("billing.", "catalog.")
NOT_A_PAGE = {"billing.webhook"}  # the payment provider's JSON endpoint, signed, never a form


def _post_rules(app):
    return [r for r in rules(app, "POST") if r.endpoint.startswith(AREAS) and r.endpoint not in NOT_A_PAGE]


def address_bar(response, posted_to: str) -> str | None:
    """Where the address bar ends after a boosted POST (None: it stays on the page the form was on)."""
    if 300 <= response.status_code < 400:
        return response.headers["Location"]
    pushed = response.headers.get("HX-Push-Url")
    if pushed == "false":
        return None
    return pushed or posted_to


def assert_reload_works(visitor, response, posted_to: str) -> None:
    target = address_bar(response, posted_to)
    if target is not None:
        reload = visitor.send("GET", target)
        assert reload.status_code < 400, (posted_to, response.status_code, target, reload.status_code)


def test_every_billing_and_catalog_post_is_covered(csrf_app):
    endpoints = {r.endpoint for r in _post_rules(csrf_app)}
    assert {"billing.cart_add", "billing.start_trial", "billing.checkout", "billing.cart_update"} <= endpoints


def test_a_refused_boosted_post_leaves_a_reloadable_address(csrf_app, world, visitor_as):
    customer = visitor_as("customer")
    checked = 0
    for rule in _post_rules(csrf_app):
        url = fill(rule.rule, world.args)
        response = customer.send("POST", url, data={}, headers=BOOSTED)
        assert response.status_code < 500, (url, response.status_code)
        assert_reload_works(customer, response, url)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("what", ["cart_add_subscribed", "trial_subscribed", "trial_used"])
def test_the_refusals_a_customer_meets_reload_as_pages(csrf_app, world, visitor_as, what):
    """Adding a plan one subscribes to, a trial of it, a second trial: each refused, each reloadable."""
    customer = visitor_as("customer")
    plan_id = world.args["plan_id"]  # the customer subscribes to this plan's product
    if what == "trial_used":
        with csrf_app.app_context():
            plan = PlanFactory(name="Solo")  # another product, whose trial ran out
            ended = utcnow() - timedelta(days=2)
            SubscriptionFactory(user_id=world.customer_id, plan=plan, status="expired", trial_end=ended, ended_at=ended)
            plan_id = str(plan.id)
            db.session.commit()
    url = "/cart/add" if what == "cart_add_subscribed" else "/subscriptions/trial"
    response = customer.send("POST", url, data={"plan_id": plan_id}, headers=BOOSTED)
    assert response.status_code in (303, 409), response.status_code
    assert_reload_works(customer, response, url)
    if what == "cart_add_subscribed":  # a toast, the address bar left alone
        assert response.status_code == 409 and response.headers["HX-Push-Url"] == "false"
    else:
        page = customer.send("GET", response.headers["Location"])
        assert page.status_code == 200 and "trial" in page.get_data(as_text=True).lower()
