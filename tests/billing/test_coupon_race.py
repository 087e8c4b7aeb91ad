"""Race on PostgreSQL: twenty checkouts at once on a code with five uses left get exactly five discounts."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.billing import coupons
from app.billing.coupons import CouponValues
from app.extensions import db
from app.models.billing import Invoice, Transaction
from app.models.coupon import Coupon, PromotionCode, Redemption
from tests.support.checkout import add_to_cart, card, review
from tests.support.users import make_user, sign_in

pytestmark = pytest.mark.postgres


def test_twenty_concurrent_checkouts_on_a_code_with_five_uses_left_discount_exactly_five(app, shop, gateway):
    with app.app_context():
        coupons.create(
            CouponValues(code="FIVE", duration="once", percent_off=Decimal(20), max_redemptions=5), actor_id=None
        )
    forms = []
    for i in range(20):
        client = app.test_client()
        with app.app_context():
            sign_in(client, make_user(username=f"buyer{i}"))
        add_to_cart(client, shop["crm_team"])
        assert client.post("/checkout/promo", data={"promo_code": "FIVE"}).status_code == 303
        _, key, fingerprint = review(client)
        forms.append((client, {"idempotency_key": key, "review_fingerprint": fingerprint, **card()}))
    barrier = threading.Barrier(20)

    def submit(i):
        client, form = forms[i]
        barrier.wait()
        with app.app_context():
            response = client.post("/checkout", data=form)
            db.session.remove()
        return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    assert sorted(status for status, _ in results) == [303] * 5 + [409] * 15
    assert all("This code has just been used up — review your order." in body for s, body in results if s == 409)
    # Only the five were charged, each the discounted $43.12; the others charged nothing.
    assert sorted(c["amount"] for c in gateway.charges()) == [4312] * 5
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 5
        assert db.session.scalars(sa.select(Invoice.total)).all() == [4312] * 5
        assert db.session.scalars(sa.select(Redemption.status)).all() == ["redeemed"] * 5
        assert db.session.scalar(sa.select(PromotionCode.times_redeemed)) == 5
        assert db.session.scalar(sa.select(Coupon.times_redeemed)) == 5
