"""Every admin page checks a permission: customers never see the admin area exists."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Plan
from tests.admin.conftest import SAMPLE_ARGS, admin_get_urls, admin_post_urls
from tests.factories import InvoiceFactory, ProductFactory, SubscriptionFactory
from tests.support.users import make_user


def test_a_customer_gets_404_on_every_admin_url(app, customer_client):
    for url in admin_get_urls(app):
        assert customer_client.get(url).status_code == 404, url
    for url in admin_post_urls(app):
        assert customer_client.post(url).status_code == 404, url


def test_a_signed_out_visitor_is_sent_to_login_or_gets_404(app, client):
    for url in admin_get_urls(app):
        response = client.get(url, buffered=True)
        if "auth.login" in app.view_functions:
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], url
        else:
            assert response.status_code == 404, url


@pytest.mark.parametrize(
    "url,status",
    [
        ("/admin/", 200),
        ("/admin/audit", 200),
        ("/admin/roles", 403),
        ("/admin/roles/new", 403),
        ("/admin/fee", 403),
        ("/admin/jobs", 403),
    ],
)
def test_support_sees_the_dashboard_and_audit_but_not_roles_fee_or_jobs(support_client, url, status):
    assert support_client.get(url).status_code == status


def test_support_cannot_change_the_fee_or_roles(support_client, app):
    assert support_client.post("/admin/fee", data={"percent": "9", "reason": "x"}).status_code == 403
    assert support_client.post("/admin/roles/new", data={"name": "hacker"}).status_code == 403
    from app.catalog.fees import current_percent

    with app.app_context():
        assert str(current_percent()) == "0.00"


def test_an_admin_opens_every_admin_page(app, admin_client):
    with app.app_context():
        product = ProductFactory(slug="sample-tool", plans__cycles=("monthly",))
        plan = db.session.scalar(sa.select(Plan).where(Plan.product_id == product.id))
        customer = make_user(username="payer")
        subscription = SubscriptionFactory(user_id=customer.id, plan=plan)
        invoice = InvoiceFactory(user=customer, plan=plan, subscription_id=subscription.id)
        real = {
            SAMPLE_ARGS["<uuid:user_id>"]: str(admin_client.user_id),
            SAMPLE_ARGS["<uuid:product_id>"]: str(product.id),
            SAMPLE_ARGS["<uuid:plan_id>"]: str(plan.id),
            SAMPLE_ARGS["<uuid:subscription_id>"]: str(subscription.id),
            SAMPLE_ARGS["<uuid:invoice_id>"]: str(invoice.id),
        }
    for url in admin_get_urls(app):
        if "nojob" in url:
            continue
        for placeholder, value in real.items():
            url = url.replace(placeholder, value)
        assert admin_client.get(url, buffered=True).status_code == 200, url


def test_the_sidebar_shows_only_what_the_user_may_open(support_client, admin_client):
    support_page = support_client.get("/admin/").get_data(as_text=True)
    assert "Audit log" in support_page and "Platform fee" not in support_page and ">Roles<" not in support_page
    admin_page = admin_client.get("/admin/").get_data(as_text=True)
    assert "Platform fee" in admin_page and ">Roles<" in admin_page


def test_every_sidebar_entry_is_an_admin_page(app):
    from app.admin.nav import SECTIONS

    assert {endpoint for _, endpoint, _ in SECTIONS} <= set(app.view_functions)
