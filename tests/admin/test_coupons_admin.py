"""/admin/coupons: only staff with catalog.manage; create (audited), bad input beside its field, deactivate."""

import html
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.models.coupon import Coupon, PromotionCode
from tests.support.checkout import add_to_cart

GOOD = {"code": "spring", "kind": "percent", "percent_off": "25", "duration": "repeating", "cycles": "2"}


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_support_staff_without_catalog_manage_can_neither_see_nor_create_coupons(app, support_client):
    assert support_client.get("/admin/coupons").status_code == 403
    assert support_client.post("/admin/coupons", data=GOOD).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 0


def test_a_customer_gets_404_on_the_coupons_page(customer_client):
    assert customer_client.get("/admin/coupons").status_code == 404


def test_an_admin_creates_a_coupon_with_its_code_and_sees_it_listed(app, admin_client):
    response = admin_client.post("/admin/coupons", data=GOOD)
    assert response.status_code == 303
    page = _text(admin_client.get("/admin/coupons").get_data(as_text=True))
    assert "SPRING" in page and "25% off, for 2 invoices" in page and "Active" in page
    with app.app_context():
        coupon = db.session.scalar(sa.select(Coupon))
        assert (coupon.percent_off, coupon.duration, coupon.cycles) == (25, "repeating", 2)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "coupon.created"))
        assert event.actor_id == admin_client.user_id and event.after["code"] == "SPRING"


def test_an_amount_off_is_typed_in_major_units(app, admin_client):
    data = {"code": "FIVE", "kind": "amount", "amount_off": "5.00", "currency": "eur", "duration": "once"}
    assert admin_client.post("/admin/coupons", data=data).status_code == 303
    with app.app_context():
        coupon = db.session.scalar(sa.select(Coupon))
        assert (coupon.amount_off, coupon.currency) == (500, "EUR")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"percent_off": "150"}, "A percent off is from 1 to 100."),
        ({"percent_off": "lots"}, "Enter a percent from 1 to 100."),
        ({"code": "a b"}, "A code is 3 to 40 letters"),
        ({"cycles": ""}, "A repeating coupon lasts 1 to 120 invoices."),
        ({"cycles": "-2"}, "Enter a whole number."),
        ({"expires": "31/12/2030"}, "Enter a date as YYYY-MM-DD."),
        ({"kind": "amount", "amount_off": "5.001", "currency": "USD"}, "Enter an amount such as 5.00."),
        ({"kind": "amount", "amount_off": "5", "currency": ""}, "An amount off needs its currency"),
        ({"products": "not-a-product"}, "Choose products from the list."),
    ],
)
def test_bad_input_is_explained_beside_its_field_and_creates_nothing(app, admin_client, changes, message):
    response = admin_client.post("/admin/coupons", data={**GOOD, **changes})
    assert response.status_code == 400
    assert message in _text(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 0


def test_a_duplicate_code_is_refused(app, admin_client):
    assert admin_client.post("/admin/coupons", data=GOOD).status_code == 303
    again = admin_client.post("/admin/coupons", data={**GOOD, "code": "Spring"})
    assert again.status_code == 400 and "That code already exists." in again.get_data(as_text=True)


def test_a_deactivated_coupon_is_audited_and_its_code_no_longer_applies(app, admin_client, signed_in, billing_shop):
    admin_client.post("/admin/coupons", data=GOOD)
    with app.app_context():
        coupon_id = db.session.scalar(sa.select(Coupon.id))
    assert admin_client.post(f"/admin/coupons/{coupon_id}/deactivate").status_code == 303
    with app.app_context():
        assert db.session.get(Coupon, coupon_id).active is False
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "coupon.deactivated"))
        assert db.session.scalar(sa.select(PromotionCode.active)) is True  # the code itself is untouched
    add_to_cart(signed_in, billing_shop["crm_team"])
    refused = signed_in.post("/checkout/promo", data={"promo_code": "SPRING"})
    assert refused.status_code == 400 and "This code is no longer valid." in refused.get_data(as_text=True)


def test_deactivating_an_unknown_coupon_is_404(admin_client):
    assert admin_client.post("/admin/coupons/00000000-0000-0000-0000-000000000009/deactivate").status_code == 404


@pytest.fixture
def billing_shop(app):
    from tests.support import checkout

    with app.app_context():
        result = checkout.ids(checkout.catalog())
        db.session.remove()
    return result
