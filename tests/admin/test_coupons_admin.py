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
        ({"expires_at": "31/12/2030"}, "Enter a date as YYYY-MM-DD."),
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


# --- another code for a coupon ------------------------------------------------------------------------------


def _coupon_id(app):
    with app.app_context():
        return str(db.session.scalar(sa.select(Coupon.id)))


def test_an_admin_adds_a_second_code_with_its_own_limits_audited(app, admin_client):
    admin_client.post("/admin/coupons", data=GOOD)
    data = {"add-coupon": _coupon_id(app), "add-code": "autumn", "add-max_redemptions": "3"}
    data["add-expires_at"] = "2030-01-31"
    assert admin_client.post("/admin/coupons/codes", data=data).status_code == 303
    page = _text(admin_client.get("/admin/coupons").get_data(as_text=True))
    assert "Code AUTUMN added to the coupon." in page and "SPRING , AUTUMN" in page
    with app.app_context():
        code = db.session.scalar(sa.select(PromotionCode).where(PromotionCode.code == "AUTUMN"))
        assert code.max_redemptions == 3 and code.expires_at.date().isoformat() == "2030-01-31"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "coupon.code_added"))
        assert event.actor_id == admin_client.user_id and event.after["code"] == "AUTUMN"
        assert event.target_id == str(code.coupon_id)


def test_support_staff_without_catalog_manage_cannot_add_a_code(app, admin_client, support_client):
    admin_client.post("/admin/coupons", data=GOOD)
    data = {"add-coupon": _coupon_id(app), "add-code": "AUTUMN"}
    assert support_client.post("/admin/coupons/codes", data=data).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PromotionCode)) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"add-code": "Spring"}, "add-code", "That code already exists."),
        ({"add-code": "a b"}, "add-code", "A code is 3 to 40 letters"),
        ({"add-max_redemptions": "many"}, "add-max_redemptions", "Enter a whole number."),
        ({"add-max_redemptions": "0"}, "add-max_redemptions", "Maximum redemptions is from 1 to 1,000,000."),
        ({"add-expires_at": "2001-01-01"}, "add-expires_at", "The expiry must be in the future."),
        ({"add-expires_at": "31/01/2030"}, "add-expires_at", "Enter a date as YYYY-MM-DD."),
        ({"add-coupon": "not-a-coupon"}, "add-coupon", "Choose a coupon from the list."),
    ],
)
def test_a_bad_or_duplicate_new_code_is_explained_beside_its_field_and_adds_nothing(
    app, admin_client, changes, field, message
):
    admin_client.post("/admin/coupons", data=GOOD)
    data = {"add-coupon": _coupon_id(app), "add-code": "AUTUMN", **changes}
    response = admin_client.post("/admin/coupons/codes", data=data)
    assert response.status_code == 400
    html_page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html_page)
    assert error and message in html.unescape(error.group(1))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PromotionCode)) == 1
        assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "coupon.code_added")) is None


def test_adding_a_code_to_an_unknown_coupon_is_404(app, admin_client):
    admin_client.post("/admin/coupons", data=GOOD)
    data = {"add-coupon": "00000000-0000-0000-0000-000000000009", "add-code": "AUTUMN"}
    assert admin_client.post("/admin/coupons/codes", data=data).status_code == 404


def test_a_past_expiry_on_a_new_coupon_is_explained_beside_the_expiry_field(app, admin_client):
    response = admin_client.post("/admin/coupons", data={**GOOD, "expires_at": "2001-01-01"})
    assert response.status_code == 400
    raw = response.get_data(as_text=True)
    field = raw.split('name="expires_at"', 2)[-1]  # the new-coupon form's field (the add-a-code one is prefixed)
    assert "The expiry must be in the future." in _text(
        field.split("</div>", 1)[0] + raw.split('name="expires_at"', 2)[-2].rsplit('<div class="field', 1)[-1]
    )
