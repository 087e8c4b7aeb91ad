import html
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import PaymentMethod, Subscription
from app.models.outbox import OutboxMessage
from tests.factories import SubscriptionFactory
from tests.support.checkout import add_to_cart, card, pay
from tests.support.users import make_user, sign_in

HX = {"HX-Request": "true"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _sub(app, sub_id):
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        db.session.expunge(sub)
        return sub


@pytest.fixture
def bought(app, signed_in, user, shop):
    add_to_cart(signed_in, shop["crm_team"])
    add_to_cart(signed_in, shop["analytics_yearly"])
    assert pay(signed_in).status_code == 303
    with app.app_context():
        return {s.plan_id: s.id for s in db.session.scalars(sa.select(Subscription))}


def test_the_page_shows_status_plan_next_renewal_and_each_subscriptions_invoices(app, signed_in, shop, bought):
    page = text(signed_in.get("/subscriptions/"))
    crm = _sub(app, bought[shop["crm_team"]])
    assert "Pipeline CRM" in page and "Team plan" in page and "Insight Analytics" in page
    assert "Active" in page and "Next renewal" in page and crm.current_period_end.strftime("%d %b %Y") in page
    assert len(re.findall(r"INV-\d{4}-\d{6}", page)) == 2
    assert "Visa •••• 4242" in page
    assert page.count("data-confirm=") == 4  # cancel at period end / now, for each


def test_auto_renew_toggles_by_htmx_returning_the_updated_card(app, signed_in, shop, bought):
    sub_id = bought[shop["crm_team"]]
    response = signed_in.post(f"/subscriptions/{sub_id}/auto-renew", data={"auto_renew": "off"}, headers=HX)
    fragment = text(response)
    assert response.status_code == 200 and fragment.lstrip().startswith("<article")
    assert 'aria-checked="false"' in fragment and "Auto-renew is off" in fragment and "<html" not in fragment
    assert _sub(app, sub_id).auto_renew is False
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "subscription.auto_renew"))


def test_auto_renew_toggles_with_a_plain_form_too(app, signed_in, shop, bought):
    sub_id = bought[shop["crm_team"]]
    response = signed_in.post(f"/subscriptions/{sub_id}/auto-renew", data={"auto_renew": "off"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/subscriptions/")
    assert "Auto-renew is off for Pipeline CRM" in text(signed_in.get("/subscriptions/"))
    signed_in.post(f"/subscriptions/{sub_id}/auto-renew", data={"auto_renew": "on"})
    assert _sub(app, sub_id).auto_renew is True


def test_cancel_at_period_end_keeps_access_until_then_and_can_be_undone(app, signed_in, shop, bought):
    sub_id = bought[shop["crm_team"]]
    response = signed_in.post(f"/subscriptions/{sub_id}/cancel", data={"when": "period_end"}, headers=HX)
    sub = _sub(app, sub_id)
    assert sub.status == "active" and sub.cancel_at_period_end
    assert f"will end on {sub.current_period_end:%d %b %Y}" in text(response)
    with app.app_context():
        emails = [
            m.args[0]
            for m in db.session.scalars(sa.select(OutboxMessage))
            if m.args and m.args[0].get("template") == "subscription_ending"
        ]
        # the instant travels; the worker says it on the customer's clock
        assert emails[0]["context"]["ends_on"] == f"{sub.current_period_end:%Y-%m-%dT%H:%M:%SZ}"
    signed_in.post(f"/subscriptions/{sub_id}/resume")
    assert _sub(app, sub_id).cancel_at_period_end is False


def test_cancel_now_ends_it_at_once(app, signed_in, shop, bought):
    sub_id = bought[shop["analytics_yearly"]]
    response = signed_in.post(f"/subscriptions/{sub_id}/cancel", data={"when": "now"})
    assert response.status_code == 303
    sub = _sub(app, sub_id)
    assert sub.status == "cancelled" and sub.ended_at is not None and sub.auto_renew is False
    again = signed_in.post(f"/subscriptions/{sub_id}/cancel", data={"when": "now"})
    assert again.status_code == 409 and "already ended" in text(again)


@pytest.mark.parametrize(
    "path,data,status",
    [
        ("cancel", {"when": "tomorrow"}, 400),
        ("cancel", {}, 400),
        ("auto-renew", {"auto_renew": "<script>"}, 400),
        ("auto-renew", {}, 400),
    ],
)
def test_bad_values_are_refused_and_change_nothing(app, signed_in, shop, bought, path, data, status):
    sub_id = bought[shop["crm_team"]]
    response = signed_in.post(f"/subscriptions/{sub_id}/{path}", data=data)
    assert response.status_code == status
    sub = _sub(app, sub_id)
    assert sub.status == "active" and sub.auto_renew and not sub.cancel_at_period_end


@pytest.mark.parametrize(
    "path,data", [("cancel", {"when": "now"}), ("auto-renew", {"auto_renew": "off"}), ("resume", {})]
)
def test_another_users_subscription_is_a_404(app, shop, bought, path, data):
    sub_id = bought[shop["crm_team"]]
    mallory = app.test_client()
    with app.app_context():
        sign_in(mallory, make_user(username="mallory"))
    assert mallory.post(f"/subscriptions/{sub_id}/{path}", data=data).status_code == 404
    assert mallory.post(f"/subscriptions/not-an-id/{path}", data=data).status_code == 404
    assert _sub(app, sub_id).status == "active"


def test_a_card_for_renewals_can_be_added_and_bad_details_are_explained(app, signed_in, user):
    bad = signed_in.post("/payment-method", data=card("4242 4242 4242 4241", card_expiry="1/2"))
    page = text(bad)
    assert bad.status_code == 400 and "isn't valid" in page and "MM/YY" in page
    ok = signed_in.post("/payment-method", data=card("4000 0000 0000 0341"))
    assert ok.status_code == 303
    with app.app_context():
        method = db.session.scalar(sa.select(PaymentMethod))
        assert (method.last4, method.is_default) == ("0341", True)
    assert "Visa •••• 0341" in text(signed_in.get("/subscriptions/"))


def test_an_ended_subscription_shows_when_it_ended(app, signed_in, user, shop):
    with app.app_context():
        SubscriptionFactory(user_id=user.id, plan_id=shop["crm_team"], status="expired", ended_at=db.func.now())
    page = text(signed_in.get("/subscriptions/"))
    assert "Expired on" in page and "Auto-renew" not in page


def test_my_subscriptions_needs_a_signed_in_user(client):
    response = client.get("/subscriptions/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login?next=")
