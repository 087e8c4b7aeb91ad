"""Coupons and promotion codes: the arithmetic, the checks, applying a code at checkout (HTMX and without
JS), paying a discounted order, the CLI, and renewals that keep the discount for its duration."""

import html as html_lib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.billing import coupons
from app.billing.coupons import CouponValues
from app.billing.periods import add_months
from app.billing.pricing import CouponTerms, price_line
from app.errors import ValidationError
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import Invoice, InvoiceLine, Subscription
from app.models.catalog import Plan, Product
from app.models.coupon import Coupon, PromotionCode, Redemption
from tests.support.checkout import CARD_DECLINED, add_to_cart, card, hidden, pay, review

HX = {"HX-Request": "true"}


def _text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def make(code: str = "SAVE20", **fields) -> str:
    """A coupon with its code (inside an app context); 20 % off once unless `fields` say otherwise."""
    values = {"duration": "once", "percent_off": Decimal(20), **fields}
    return coupons.create(CouponValues(code=code, **values), actor_id=None).code


def _line(app, plan_id, coupon=None, quantity=1):
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        product = db.session.get(Product, plan.product_id)
        return price_line(plan, product, quantity, Decimal(10), coupon)


# --- the arithmetic ---------------------------------------------------------------------------------------


def test_a_percent_coupon_comes_off_after_the_plans_discount_and_before_the_fee(app, shop):
    line = _line(app, shop["analytics_yearly"], CouponTerms("SAVE15", percent_off=Decimal(15)))
    # $468.00 − 10 % ($46.80) = $421.20; 15 % of that = $63.18; net $358.02; fee 10 % = $35.80 (half up).
    assert (line.subtotal, line.discount, line.coupon_discount) == (46800, 4680, 6318)
    assert (line.net, line.fee, line.total) == (35802, 3580, 39382)


def test_a_percent_coupon_rounds_half_up_once(app, shop):
    line = _line(app, shop["crm_team"], CouponTerms("HALF", percent_off=Decimal("12.5")))
    assert line.coupon_discount == 613  # 12.5 % of 4900 = 612.5


def test_an_amount_coupon_never_takes_more_than_the_line(app, shop):
    assert _line(app, shop["crm_team"], CouponTerms("TEN", amount_off=1000)).coupon_discount == 1000
    capped = _line(app, shop["crm_team"], CouponTerms("BIG", amount_off=100_000))
    assert (capped.coupon_discount, capped.net, capped.fee, capped.total) == (4900, 0, 0, 0)


def test_the_invoice_has_the_coupon_as_its_own_discount_line_and_adds_up(app, user, shop):
    from app.billing.invoices import build_lines

    line = _line(app, shop["crm_team"], CouponTerms("SAVE20", percent_off=Decimal(20)), quantity=2)
    lines = build_lines(line)
    assert [(x.kind, x.amount) for x in lines] == [("plan", 9800), ("discount", -1960), ("fee", 784)]
    assert lines[1].description == "Promo code SAVE20 (20% off)"
    assert sum(x.amount for x in lines) == line.total == 8624


def test_the_fingerprint_changes_with_the_coupon(app, shop):
    from app.billing.pricing import Quote

    plain = Quote([_line(app, shop["crm_team"])], Decimal(10))
    coupon = Quote([_line(app, shop["crm_team"], CouponTerms("SAVE20", percent_off=Decimal(20)))], Decimal(10))
    assert plain.fingerprint() != coupon.fingerprint()


# --- creating and checking codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"duration": "once"}, "percent_off"),
        ({"duration": "once", "percent_off": Decimal(20), "amount_off": 500, "currency": "USD"}, "percent_off"),
        ({"duration": "once", "percent_off": Decimal(0)}, "percent_off"),
        ({"duration": "once", "percent_off": Decimal(101)}, "percent_off"),
        ({"duration": "once", "amount_off": 500}, "currency"),
        ({"duration": "repeating", "percent_off": Decimal(5)}, "cycles"),
        ({"duration": "weekly", "percent_off": Decimal(5)}, "duration"),
        ({"duration": "once", "percent_off": Decimal(5), "expires_at": datetime(2020, 1, 1, tzinfo=UTC)}, "expires_at"),
    ],
)
def test_a_coupon_with_bad_terms_is_refused_beside_its_field_and_nothing_is_created(app, values, field):
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            coupons.create(CouponValues(code="BAD1", **values), actor_id=None)
        assert field in refused.value.errors
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 0


def test_codes_are_unique_whatever_their_case(app):
    with app.app_context():
        assert make("Summer") == "SUMMER"
        with pytest.raises(ValidationError) as refused:
            make("summer")
        assert refused.value.errors == {"code": "That code already exists."}
        assert coupons.find("  sUmMeR ").code == "SUMMER"


def _check(app, raw, plan_id, user_id=None):
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        line = price_line(plan, db.session.get(Product, plan.product_id), 1, Decimal(10))
        return coupons.check(raw, [line], user_id)


def test_check_refuses_each_code_that_does_not_apply_with_its_reason(app, user, shop):
    with app.app_context():
        make("GONE", expires_at=datetime.now(UTC) + timedelta(seconds=1))
        make("OFF")
        coupons.deactivate(
            db.session.scalar(sa.select(PromotionCode).where(PromotionCode.code == "OFF")).coupon_id, actor_id=None
        )
        make("ANALYTICS", product_ids=[shop["analytics"]])
        make("EUROS", percent_off=None, amount_off=500, currency="EUR")
        make("FIRST", first_purchase_only=True)
    reasons = {}
    for raw in ("NOPE", "OFF", "ANALYTICS", "EUROS", "x"):
        with pytest.raises(ValidationError) as refused:
            _check(app, raw, shop["crm_team"], user.id)
        reasons[raw] = refused.value.errors["promo_code"]
    assert reasons == {
        "NOPE": coupons.UNKNOWN,
        "OFF": coupons.INACTIVE,
        "ANALYTICS": coupons.NOT_APPLICABLE,
        "EUROS": "This code is for EUR purchases only.",
        "x": coupons.UNKNOWN,
    }
    assert _check(app, "analytics", shop["analytics_yearly"]).code.code == "ANALYTICS"
    assert _check(app, "FIRST", shop["crm_team"], user.id).code.code == "FIRST"  # never bought anything


def test_an_expired_code_says_when_it_expired(app, shop, clock):
    with app.app_context():
        make("BRIEF", expires_at=clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) + timedelta(days=1))
    clock(datetime(2026, 3, 5, tzinfo=UTC))
    with pytest.raises(ValidationError) as refused:
        _check(app, "BRIEF", shop["crm_team"])
    assert refused.value.errors["promo_code"] == "This code expired on 03 March 2026."


# --- at checkout ----------------------------------------------------------------------------------------------


def _apply(client, code, *, htmx=True):
    return client.post("/checkout/promo", data={"promo_code": code, "action": "apply"}, headers=HX if htmx else {})


def test_applying_a_code_with_htmx_shows_the_discount_line_and_the_new_total_and_fingerprint(app, signed_in, shop):
    with app.app_context():
        make()
    add_to_cart(signed_in, shop["crm_team"])
    _, _, before = review(signed_in)
    response = _apply(signed_in, "save20")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _text(html)
    # $49.00 − 20 % ($9.80) = $39.20; fee 10 % = $3.92; total $43.12.
    assert "Promo code SAVE20 (20% off)" in text and "−$9.80" in text and "Due today $43.12" in text
    assert 'id="order-section" hx-swap-oob="true"' in html and 'id="checkout-total" hx-swap-oob="true"' in html
    after = hidden(html, "review_fingerprint")
    assert after != before and after == review(signed_in)[2]


def test_applying_a_code_without_javascript_goes_back_to_the_review_with_the_discount(app, signed_in, shop):
    with app.app_context():
        make()
    add_to_cart(signed_in, shop["crm_team"])
    response = _apply(signed_in, "SAVE20", htmx=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/checkout")
    text = _text(review(signed_in)[0])
    assert "Promo code SAVE20 (20% off)" in text and "Total due today $43.12" in text


@pytest.mark.parametrize("htmx", [True, False])
def test_a_refused_code_gets_its_message_beside_the_field_and_changes_nothing(app, signed_in, user, shop, htmx):
    with app.app_context():
        make("ANALYTICS", product_ids=[shop["analytics"]])
    add_to_cart(signed_in, shop["crm_team"])
    _, _, before = review(signed_in)
    response = _apply(signed_in, "ANALYTICS", htmx=htmx)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="promo_code-error"' in html and coupons.NOT_APPLICABLE in _text(html)
    assert 'value="ANALYTICS"' in html  # what was typed stays in the field
    assert "hx-swap-oob" not in html
    assert review(signed_in)[2] == before


def test_each_refusal_at_checkout_has_its_own_message(app, clock, signed_in, user, shop):
    with app.app_context():
        make("SOON", expires_at=clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) + timedelta(hours=1))
        make("ONCEONLY", max_redemptions=1)
        make("FIRST", first_purchase_only=True)
    # ONCEONLY is used up by Ada's paid analytics order, which also makes her next purchase not her first.
    add_to_cart(signed_in, shop["analytics_yearly"])
    assert _apply(signed_in, "ONCEONLY").status_code == 200
    assert pay(signed_in).status_code == 303
    add_to_cart(signed_in, shop["crm_team"])
    clock(datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    found = {code: _apply(signed_in, code) for code in ("NOPE", "SOON", "ONCEONLY", "FIRST", "")}
    assert {code: r.status_code for code, r in found.items()} == dict.fromkeys(found, 400)
    messages = {code: _text(r.get_data(as_text=True)) for code, r in found.items()}
    assert coupons.UNKNOWN in messages["NOPE"]
    assert "This code expired on 02 March 2026." in messages["SOON"]
    assert coupons.USED_UP in messages["ONCEONLY"]
    assert coupons.NOT_FIRST in messages["FIRST"]
    assert "Enter a promo code." in messages[""]


def test_paying_a_discounted_order_charges_the_reviewed_total_and_counts_one_redemption(
    app, signed_in, user, shop, gateway
):
    with app.app_context():
        make(max_redemptions=10)
    add_to_cart(signed_in, shop["crm_team"])
    _apply(signed_in, "SAVE20")
    response = pay(signed_in)
    assert response.status_code == 303
    assert [c["amount"] for c in gateway.charges()] == [4312]
    with app.app_context():
        invoice = db.session.scalar(sa.select(Invoice).where(Invoice.user_id == user.id))
        lines = db.session.scalars(
            sa.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.position)
        ).all()
        coupon_line = ("discount", -980, "Promo code SAVE20 (20% off)")
        assert [(x.kind, x.amount, x.description) for x in lines][1] == coupon_line
        assert (invoice.subtotal, invoice.discount, invoice.fee, invoice.total) == (4900, 980, 392, 4312)
        redemption = db.session.scalar(sa.select(Redemption))
        assert redemption.status == "redeemed" and redemption.invoice_id == invoice.id
        code = db.session.scalar(sa.select(PromotionCode))
        assert code.times_redeemed == 1 and db.session.get(Coupon, code.coupon_id).times_redeemed == 1
    page = signed_in.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "Promo code SAVE20 (20% off)" in page


def test_a_bank_transfer_order_counts_its_code_when_it_is_placed(app, signed_in, user, shop, gateway):
    with app.app_context():
        make(max_redemptions=1)
    add_to_cart(signed_in, shop["crm_team"])
    _apply(signed_in, "SAVE20")
    assert pay(signed_in, {"payment_method": "bank_transfer"}).status_code == 303
    with app.app_context():
        invoice = db.session.scalar(sa.select(Invoice).where(Invoice.user_id == user.id))
        assert (invoice.status, invoice.total) == ("open", 4312)
        assert db.session.scalar(sa.select(Redemption.status)) == "redeemed"
        assert db.session.scalar(sa.select(PromotionCode.times_redeemed)) == 1
    assert gateway.charges() == []


def test_paying_with_the_fingerprint_from_before_the_code_was_applied_is_refused(app, signed_in, shop, gateway):
    with app.app_context():
        make()
    add_to_cart(signed_in, shop["crm_team"])
    _, key, before = review(signed_in)
    _apply(signed_in, "SAVE20")
    response = pay(signed_in, key=key, fingerprint=before)
    assert response.status_code == 409 and gateway.charges() == []


def test_a_declined_payment_gives_the_codes_place_back(app, signed_in, shop, gateway):
    with app.app_context():
        make(max_redemptions=1)
    add_to_cart(signed_in, shop["crm_team"])
    _apply(signed_in, "SAVE20")
    assert pay(signed_in, card(CARD_DECLINED)).status_code == 402
    with app.app_context():
        assert db.session.scalar(sa.select(Redemption.status)) == "released"
        assert db.session.scalar(sa.select(PromotionCode.times_redeemed)) == 0
    assert pay(signed_in).status_code == 303  # the one place is still there
    assert [c["amount"] for c in gateway.charges() if c["status"] == "succeeded"] == [4312]


def test_removing_the_code_restores_the_full_price(app, signed_in, shop):
    with app.app_context():
        make()
    add_to_cart(signed_in, shop["crm_team"])
    _apply(signed_in, "SAVE20")
    response = signed_in.post("/checkout/promo", data={"action": "remove"}, headers=HX)
    assert response.status_code == 200
    assert "Due today $53.90" in _text(response.get_data(as_text=True))


def test_a_code_deactivated_after_it_was_applied_is_taken_off_with_a_message(app, signed_in, shop, gateway):
    with app.app_context():
        make()
    add_to_cart(signed_in, shop["crm_team"])
    _apply(signed_in, "SAVE20")
    _, key, fingerprint = review(signed_in)
    with app.app_context():
        coupons.deactivate(db.session.scalar(sa.select(Coupon.id)), actor_id=None)
    response = pay(signed_in, key=key, fingerprint=fingerprint)
    assert response.status_code == 409
    assert "The code SAVE20 was taken off: This code is no longer valid." in _text(response.get_data(as_text=True))
    assert gateway.charges() == []


# --- the command ---------------------------------------------------------------------------------------------


def test_the_command_creates_a_coupon_and_its_first_code(app, runner):
    result = runner.invoke(
        args=[
            "billing",
            "coupon",
            "create",
            "--code",
            "welcome",
            "--percent-off",
            "10",
            "--duration",
            "repeating",
            "--cycles",
            "3",
            "--max-redemptions",
            "5",
            "--expires",
            "2030-12-31",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "with promotion code WELCOME" in result.output
    with app.app_context():
        coupon = db.session.scalar(sa.select(Coupon))
        assert (coupon.percent_off, coupon.duration, coupon.cycles, coupon.max_redemptions) == (10, "repeating", 3, 5)
        assert coupon.expires_at == datetime(2030, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "coupon.created"))


def test_the_command_takes_an_amount_off_with_its_currency(app, runner):
    result = runner.invoke(
        args=[
            "billing",
            "coupon",
            "create",
            "--code",
            "FIVE",
            "--amount-off",
            "500",
            "--currency",
            "usd",
            "--duration",
            "forever",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        coupon = db.session.scalar(sa.select(Coupon))
        assert (coupon.amount_off, coupon.currency, coupon.percent_off) == (500, "USD", None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--percent-off", "10", "--duration", "repeating"], "--cycles: A repeating coupon lasts 1 to 120 invoices."),
        (["--percent-off", "10", "--amount-off", "5", "--duration", "once"], "either --percent-off or --amount-off"),
        (["--amount-off", "500", "--duration", "once"], "--currency: An amount off needs its currency"),
        (
            ["--percent-off", "10", "--duration", "once", "--expires", "2001-01-01"],
            "--expires: The expiry must be in the future.",
        ),
        (["--percent-off", "140", "--duration", "once"], "140 is not in the range"),
    ],
)
def test_the_command_refuses_bad_options_and_creates_nothing(app, runner, args, message):
    result = runner.invoke(args=["billing", "coupon", "create", "--code", "BAD", *args])
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Coupon)) == 0


def _add_code(runner, *args):
    return runner.invoke(args=["billing", "coupon", "add-code", *args])


@pytest.mark.parametrize("by", ["code", "id"])
def test_the_command_adds_a_code_to_a_coupon_named_by_its_id_or_a_code(app, runner, by):
    with app.app_context():
        make()
        coupon_id = str(db.session.scalar(sa.select(Coupon.id)))
    ref = "save20" if by == "code" else coupon_id
    result = _add_code(runner, "--coupon", ref, "--code", "again", "--max-redemptions", "2", "--expires", "2030-06-30")
    assert result.exit_code == 0, result.output
    assert f"Added promotion code AGAIN to coupon {coupon_id}." in result.output
    with app.app_context():
        code = db.session.scalar(sa.select(PromotionCode).where(PromotionCode.code == "AGAIN"))
        assert str(code.coupon_id) == coupon_id and code.max_redemptions == 2
        assert code.expires_at == datetime(2030, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "coupon.code_added"))
        assert event.actor_id is None and event.after["code"] == "AGAIN"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--coupon", "NOSUCH", "--code", "AGAIN"], "--coupon: no coupon has the id or code 'NOSUCH'."),
        (["--coupon", "00000000-0000-0000-0000-000000000009", "--code", "AGAIN"], "--coupon: no coupon"),
        (["--coupon", "SAVE20", "--code", "Save20"], "--code: That code already exists."),
        (["--coupon", "SAVE20", "--code", "a b"], "--code: A code is 3 to 40 letters"),
        (["--coupon", "SAVE20", "--code", "AGAIN", "--expires", "2001-01-01"], "--expires: The expiry must be"),
        (["--coupon", "SAVE20", "--code", "AGAIN", "--max-redemptions", "0"], "0 is not in the range"),
    ],
)
def test_the_add_code_command_refuses_bad_options_and_adds_nothing(app, runner, args, message):
    with app.app_context():
        make()
    result = _add_code(runner, *args)
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PromotionCode)) == 1


def test_a_second_code_discounts_at_checkout_under_its_own_limit(app, runner, signed_in, user, shop, gateway):
    with app.app_context():
        make(max_redemptions=10)
    assert _add_code(runner, "--coupon", "SAVE20", "--code", "FRIEND", "--max-redemptions", "1").exit_code == 0
    add_to_cart(signed_in, shop["crm_team"])
    applied = _apply(signed_in, "friend")
    assert applied.status_code == 200 and "Promo code FRIEND (20% off)" in _text(applied.get_data(as_text=True))
    assert pay(signed_in).status_code == 303
    assert [c["amount"] for c in gateway.charges()] == [4312]
    with app.app_context():
        friend = db.session.scalar(sa.select(PromotionCode).where(PromotionCode.code == "FRIEND"))
        first = db.session.scalar(sa.select(PromotionCode).where(PromotionCode.code == "SAVE20"))
        assert (friend.times_redeemed, first.times_redeemed) == (1, 0)
        assert db.session.get(Coupon, friend.coupon_id).times_redeemed == 1
    # FRIEND's one use is gone; the coupon's first code still has places under the coupon's limit of 10.
    add_to_cart(signed_in, shop["analytics_yearly"])
    refused = _apply(signed_in, "FRIEND")
    assert refused.status_code == 400 and coupons.USED_UP in _text(refused.get_data(as_text=True))
    assert _apply(signed_in, "SAVE20").status_code == 200


# --- renewals -------------------------------------------------------------------------------------------------


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("duration", "cycles", "discounted"),
    [("once", None, 1), ("repeating", 3, 3), ("forever", None, 5)],
)
def test_renewals_keep_the_discount_for_its_duration(app, runner, signed_in, user, shop, duration, cycles, discounted):
    with app.app_context():
        make(duration=duration, cycles=cycles)
    add_to_cart(signed_in, shop["crm_team"])
    _apply(signed_in, "SAVE20")
    assert pay(signed_in).status_code == 303
    with app.app_context():
        start = db.session.scalar(sa.select(Subscription.current_period_start))
    for month in range(1, 5):
        result = runner.invoke(args=["billing", "run", "--at", _at(add_months(start, month) + timedelta(minutes=1))])
        assert result.exit_code == 0, result.output
    with app.app_context():
        invoices = db.session.scalars(
            sa.select(Invoice).where(Invoice.user_id == user.id).order_by(Invoice.period_start)
        ).all()
        assert [i.status for i in invoices] == ["paid"] * 5
        assert [i.total for i in invoices] == [4312] * discounted + [5390] * (5 - discounted)


@pytest.mark.parametrize(("duration", "cycles", "shown"), [("repeating", 2, True), ("once", None, False)])
def test_the_upcoming_invoice_shows_the_coupon_while_its_duration_lasts(app, signed_in, shop, duration, cycles, shown):
    with app.app_context():
        make(duration=duration, cycles=cycles)
    add_to_cart(signed_in, shop["crm_team"])
    _apply(signed_in, "SAVE20")
    assert pay(signed_in).status_code == 303
    with app.app_context():
        sub_id = db.session.scalar(sa.select(Subscription.id))
    text = _text(signed_in.get(f"/subscriptions/{sub_id}").get_data(as_text=True))
    assert ("Promo code SAVE20 (20% off)" in text) is shown
    # The upcoming invoice's total: discounted, or the full $53.90 (the paid checkout invoice says $43.12 either way).
    assert ("$53.90" in text) is not shown and "Upcoming invoice" in text
