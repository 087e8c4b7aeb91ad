"""Staff pause and resume a customer's subscription from its admin page (permission, reason, audit), and set
a product's "access continues while paused"."""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.billing.periods import add_months
from app.dates import format_date
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Subscription
from app.models.catalog import Product
from app.models.notification import Notification
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory
from tests.support.users import make_user


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.fixture
def sub_id(app):
    with app.app_context():
        plan = PlanFactory(product=ProductFactory(name="Pipeline CRM"))
        return SubscriptionFactory(user_id=make_user(username="ada").id, plan=plan).id


def _sub(app, sid) -> Subscription:
    with app.app_context():
        row = db.session.get(Subscription, sid)
        db.session.expunge(row)
        return row


def _events(app, action):
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return rows


def test_an_admin_pauses_a_subscription_for_two_cycles_with_a_reason_and_it_is_audited(app, admin_client, sub_id):
    page = _text(admin_client.get(f"/admin/subscriptions/{sub_id}"))
    assert "The pause starts on" in page and "Pause for (billing periods)" in page
    response = admin_client.post(
        f"/admin/subscriptions/{sub_id}/pause", data={"cycles": "2", "reason": "Customer is travelling"}
    )
    assert response.status_code == 303
    sub = _sub(app, sub_id)
    assert sub.pause_start == sub.current_period_end and sub.pause_end == add_months(sub.current_period_end, 2)
    shown = _text(admin_client.get(f"/admin/subscriptions/{sub_id}"))
    assert f"will pause on {format_date(sub.pause_start)}" in shown and "Call off the pause" in shown
    [event] = _events(app, "subscription.pause")
    assert event.actor_id == admin_client.user_id and event.after["reason"] == "Customer is travelling"
    assert event.after["cycles"] == 2
    with app.app_context():
        assert db.session.scalar(sa.select(Notification.kind)) == "subscription_pause_scheduled"
    audit_page = _text(admin_client.get("/admin/audit"))
    assert "to pause from" in audit_page and "(Customer is travelling)" in audit_page


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"cycles": "2", "reason": ""}, "reason", "Say why"),
        ({"cycles": "4", "reason": "asked"}, "cycles", "Choose 1 to 3 billing periods."),
        ({"cycles": "", "until": "", "reason": "asked"}, "cycles", "Choose how many billing periods"),
        ({"cycles": "1", "until": "2031-01-01", "reason": "asked"}, "cycles", "not both"),
        ({"until": "2020-01-01", "reason": "asked"}, "until", "Choose a date in the future."),
    ],
)
def test_bad_admin_pause_input_is_a_400_beside_the_field(app, admin_client, sub_id, data, field, message):
    response = admin_client.post(f"/admin/subscriptions/{sub_id}/pause", data=data)
    assert response.status_code == 400
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', response.get_data(as_text=True))
    assert error is not None and message in html.unescape(error.group(1))
    assert _sub(app, sub_id).pause_start is None and _events(app, "subscription.pause") == []


def test_an_admin_resumes_a_paused_subscription_now_with_a_reason(app, admin_client, sub_id):
    now = utcnow()
    with app.app_context():
        row = db.session.get(Subscription, sub_id)
        row.status, row.current_period_end = "paused", now - timedelta(days=3)
        row.pause_start, row.pause_end = now - timedelta(days=3), now + timedelta(days=27)
        db.session.commit()
    refused = admin_client.post(f"/admin/subscriptions/{sub_id}/resume", data={"reason": " "})
    assert refused.status_code == 400 and _sub(app, sub_id).status == "paused"
    response = admin_client.post(
        f"/admin/subscriptions/{sub_id}/resume", data={"reason": "Back early"}, follow_redirects=True
    )
    assert "Pipeline CRM is running again" in _text(response)
    sub = _sub(app, sub_id)
    assert sub.status == "active" and sub.pause_start is None and now <= sub.current_period_end <= utcnow()
    [event] = _events(app, "subscription.resume")
    assert event.after == {"status": "active", "reason": "Back early"} and event.before["status"] == "paused"


def test_resuming_a_subscription_with_no_pause_is_a_409(app, admin_client, sub_id):
    response = admin_client.post(f"/admin/subscriptions/{sub_id}/resume", data={"reason": "x"})
    assert response.status_code == 409 and "isn't paused" in _text(response)


def test_support_cannot_pause_or_resume(app, support_client, sub_id):
    page = support_client.get(f"/admin/subscriptions/{sub_id}").get_data(as_text=True)
    assert "/pause" not in page and "/resume" not in page
    for path, data in (("pause", {"cycles": "1", "reason": "x"}), ("resume", {"reason": "x"})):
        assert support_client.post(f"/admin/subscriptions/{sub_id}/{path}", data=data).status_code == 403
    assert _sub(app, sub_id).pause_start is None


def test_a_customer_gets_404_on_the_admin_pause_routes(customer_client, sub_id):
    for path in ("pause", "resume"):
        assert customer_client.post(f"/admin/subscriptions/{sub_id}/{path}", data={"reason": "x"}).status_code == 404


def _with_product(sid) -> Subscription:
    """has_access reads the product: load it with the subscription, as the pages do."""
    query = sa.select(Subscription).options(selectinload(Subscription.product)).where(Subscription.id == sid)
    return db.session.scalars(query.execution_options(populate_existing=True)).one()


def test_an_admin_turns_on_access_while_paused_on_the_product_page(app, admin_client, sub_id):
    with app.app_context():
        product = db.session.scalar(sa.select(Product).where(Product.name == "Pipeline CRM"))
        pid, slug, category = product.id, product.slug, product.category
    form = admin_client.get(f"/admin/products/{pid}").get_data(as_text=True)
    assert 'name="access_while_paused"' in form and "Access continues while paused" in html.unescape(form)
    data = {"name": "Pipeline CRM", "slug": slug, "category": category, "is_active": "on", "access_while_paused": "on"}
    assert admin_client.post(f"/admin/products/{pid}", data=data).status_code == 303
    with app.app_context():
        assert db.session.get(Product, pid).access_while_paused is True
        paused = db.session.get(Subscription, sub_id)
        paused.status = "paused"
        db.session.commit()
        assert _with_product(sub_id).has_access is True
    data.pop("access_while_paused")
    assert admin_client.post(f"/admin/products/{pid}", data=data).status_code == 303
    with app.app_context():
        assert _with_product(sub_id).has_access is False
        [updated, *_] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "product.updated").order_by(AuditEvent.created_at)
        ).all()
        assert updated.after["access_while_paused"] is True
