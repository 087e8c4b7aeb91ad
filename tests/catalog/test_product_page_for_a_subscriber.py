"""A signed-in subscriber on the product page: their plan is marked, "Manage subscription" replaces the buttons."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Plan
from app.models.user import User
from tests.factories import ProductFactory, SubscriptionFactory
from tests.support.users import make_user, sign_in


@pytest.fixture
def product(app):
    with app.app_context():
        made = ProductFactory(
            slug="pipewise-crm", name="Pipewise CRM", plans__tiers=(("Starter", 2900), ("Growth", 7900))
        )
        db.session.commit()
        return made.id


def _plan(name: str, cycle: str = "monthly") -> Plan:
    plan = db.session.scalar(sa.select(Plan).where(Plan.name == name, Plan.billing_cycle == cycle))
    assert plan is not None
    return plan


def _subscriber(client, plan_name: str = "Growth", status: str = "active") -> str:
    user = make_user(username="sam")
    sub = SubscriptionFactory(user=user, plan=_plan(plan_name), status=status)
    db.session.commit()
    sign_in(client, user)
    return str(sub.id)


def _columns(html: str) -> dict[str, str]:
    """Each plan's column header, by plan name."""
    heads = re.findall(r'<th scope="col" class="plan-col[^"]*"[^>]*>(.*?)</th>', html, re.S)
    return {re.search(r'<span class="plan-name">([^<]+)</span>', h).group(1): h for h in heads}


def test_a_subscriber_sees_their_plan_marked_with_manage_subscription_instead_of_trial_and_cart(app, client, product):
    with app.app_context():
        sub_id = _subscriber(client)
        starter_id = _plan("Starter").id
    html = client.get("/products/pipewise-crm").get_data(as_text=True)
    columns = _columns(html)
    growth, starter = columns["Growth"], columns["Starter"]
    assert "Your plan" in growth and "Your plan" not in starter
    manage = re.search(
        r'<a class="[^"]*" href="([^"]+)" data-action="manage-subscription">Manage subscription</a>', growth
    )
    assert manage and manage.group(1) == f"/subscriptions/#sub-{sub_id}"
    # Neither plan offers a trial or the cart; the other plan offers the switch to it (a preview: a link, no form).
    assert "-day free trial" not in html and "Try it free" not in html and "Add to cart" not in html
    assert "/cart/add" not in html and "/subscriptions/trial" not in html
    switch = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>Switch to this plan</a>', starter)
    assert "<form" not in starter and switch == [f"/subscriptions/{sub_id}/change?plan={starter_id}"]
    note = re.search(r"<p [^>]*data-subscriber-note>(.*?)</p>", html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", note) == "You subscribe to Growth. Manage it on Subscriptions."
    assert f'href="/subscriptions/#sub-{sub_id}"' in note


def test_the_yearly_comparison_marks_no_plan_but_still_offers_nothing_to_a_monthly_subscriber(app, client, product):
    with app.app_context():
        _subscriber(client)
    html = client.get("/products/pipewise-crm?cycle=yearly").get_data(as_text=True)
    assert "Your plan" not in html and "Manage subscription" not in html
    assert "Add to cart" not in html and "free trial" not in html
    assert "You subscribe to Growth. Manage it on" in html


def test_a_trial_counts_as_subscribing_and_an_ended_subscription_does_not(app, client, product):
    with app.app_context():
        _subscriber(client, "Starter", status="trial")
    html = client.get("/products/pipewise-crm").get_data(as_text=True)
    assert "Your plan" in _columns(html)["Starter"] and "Add to cart" not in html

    with app.app_context():
        other = make_user(username="eve")
        SubscriptionFactory(user=other, plan=_plan("Growth"), status="expired")
        db.session.commit()
        sign_in(client, other)
    html = client.get("/products/pipewise-crm").get_data(as_text=True)
    assert "Your plan" not in html and "Manage subscription" not in html and "Add to cart" in html


def test_another_customers_subscription_changes_nothing_for_someone_else(app, client, product):
    with app.app_context():
        make_user(username="sam")
        SubscriptionFactory(user=db.session.scalar(sa.select(User).where(User.username == "sam")), plan=_plan("Growth"))
        sign_in(client, make_user(username="kim"))
    html = client.get("/products/pipewise-crm").get_data(as_text=True)
    assert "Your plan" not in html and "Manage subscription" not in html and "You subscribe" not in html
    assert html.count("Add to cart") == 2 and "Start 14-day free trial" in html


def test_a_refused_htmx_post_answers_with_a_toast_that_leaves_the_address_bar_alone(app, client, product):
    with app.app_context():
        _subscriber(client)
        plan_id = str(_plan("Starter").id)
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/cart/add", data={"plan_id": plan_id}, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 409
    assert response.headers["HX-Retarget"] == "#toasts"
    assert response.headers["HX-Push-Url"] == "false"  # a reload never lands on POST /cart/add (a 405)
    assert "already subscribe to Pipewise CRM" in response.get_data(as_text=True)
