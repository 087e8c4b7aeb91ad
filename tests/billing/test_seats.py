"""Per-seat plans: the price is unit price × seats; the seats are chosen in the cart, carried to the invoice line
and the renewals, and changed later through the same preview and proration as a change of plan."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.billing.pricing import price_line, seats_problem
from app.billing.proration import share
from app.extensions import db
from app.models.billing import Invoice, InvoiceLine, PlanChange, Subscription
from app.models.checkout import CartItem, CheckoutAttempt
from app.models.user import User
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory
from tests.support.checkout import add_to_cart, hidden, pay, per_seat, review, save_card
from tests.support.users import make_user

HX = {"HX-Request": "true"}


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def seats_plan(app, shop):
    """CRM Team priced per seat: $49.00 a seat a month, 2 to 10 seats (the fee is 10 %)."""
    per_seat(app, shop["crm_team"], min_seats=2, max_seats=10)
    return shop["crm_team"]


def _cart(app, user_id):
    with app.app_context():
        return {row.plan_id: row.quantity for row in db.session.scalars(sa.select(CartItem).filter_by(user_id=user_id))}


def _held(app, user_id, plan_id, quantity, *, days_in=10):
    """An active subscription with `quantity` seats, `days_in` days into a 30-day period, a card on file."""
    with app.app_context():
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_in)
        sub = SubscriptionFactory(
            user_id=user_id,
            plan_id=plan_id,
            quantity=quantity,
            current_period_start=start,
            current_period_end=start + timedelta(days=30),
        )
        save_card(db.session.get(User, user_id))
        db.session.commit()
        return sub.id


def _sub(app, sub_id) -> Subscription:
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        db.session.expunge(sub)
        return sub


def _changes(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange))


def preview(client, sub_id, plan_id, quantity, status=200):
    response = client.get(f"/subscriptions/{sub_id}/change?plan={plan_id}&quantity={quantity}")
    assert response.status_code == status, text(response)
    page = text(response)
    fields = ("plan_id", "quantity", "idempotency_key", "fingerprint", "previewed_at")
    return page, {name: hidden(page, name) for name in fields} if status == 200 else {}


# Pricing ------------------------------------------------------------------------------------------------------


def test_a_per_seat_line_is_unit_price_times_seats_then_the_discount_then_the_fee(app):
    with app.app_context():
        product = ProductFactory(name="Desk")
        plan = PlanFactory(
            product=product, name="Team", price=1000, currency="EUR", discount_percent=Decimal("10"), per_seat=True
        )
        line = price_line(plan, product, 5, Decimal("10"))
        assert (line.subtotal, line.discount, line.net, line.fee, line.total) == (5000, 500, 4500, 450, 4950)
        assert line.seats_text == "5 seats × €10.00"
        assert line.description == "Desk · Team (monthly) · 5 seats × €10.00"
        assert price_line(plan, product, 1, Decimal("0")).seats_text == "1 seat × €10.00"
        plain = PlanFactory(product=product, name="Solo", price=1000)
        assert price_line(plain, product, 1, Decimal("0")).description == "Desk · Solo (monthly)"


def test_seat_limits_say_what_is_allowed(app):
    with app.app_context():
        seats = PlanFactory(name="Team", per_seat=True, min_seats=3, max_seats=8)
        plain = PlanFactory(name="Solo")
        assert [seats_problem(seats, n) for n in (3, 8)] == [None, None]
        assert seats_problem(seats, 2) == seats_problem(seats, 9) == "Choose from 3 to 8 seats."
        assert seats_problem(plain, 1) is None
        assert seats_problem(plain, 2) == "The Solo plan is not priced per seat: its quantity is 1."


# The cart and checkout ----------------------------------------------------------------------------------------


def test_a_per_seat_plan_goes_in_the_cart_with_its_minimum_and_shows_a_seats_input_with_the_limits(
    app, signed_in, user, seats_plan
):
    assert add_to_cart(signed_in, seats_plan).status_code == 303
    assert _cart(app, user.id) == {seats_plan: 2}
    page = text(signed_in.get("/cart"))
    assert 'name="quantity" value="2" min="2" max="10"' in page
    assert "2 seats × $49.00" in page and "$98.00" in page


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("1", "Choose from 2 to 10 seats."),
        ("11", "Choose from 2 to 10 seats."),
        ("0", "Choose a quantity from 1 to 100."),
        ("2.5", "Choose a quantity from 1 to 100."),
        ("many", "Choose a quantity from 1 to 100."),
    ],
)
def test_a_bad_number_of_seats_is_explained_next_to_the_field_and_changes_nothing(
    app, signed_in, user, shop, seats_plan, quantity, message
):
    add_to_cart(signed_in, seats_plan, 3)
    for headers in ({}, HX):
        response = signed_in.post(f"/cart/{shop['crm']}/quantity", data={"quantity": quantity}, headers=headers)
        assert response.status_code == 400
        assert f'id="qty-{shop["crm"]}-error">{message}' in text(response)
    assert add_to_cart(signed_in, seats_plan, quantity).status_code == 400
    assert _cart(app, user.id) == {seats_plan: 3}


def test_a_plan_not_priced_per_seat_takes_no_quantity_but_one(app, signed_in, user, shop, seats_plan):
    response = add_to_cart(signed_in, shop["analytics_yearly"], 2)
    assert response.status_code == 400
    assert _cart(app, user.id) == {}
    add_to_cart(signed_in, shop["analytics_yearly"])
    assert 'id="qty-' not in text(signed_in.get("/cart")).split("Insight Analytics", 1)[1].split("</li>", 1)[0]


def test_the_seats_reviewed_are_the_seats_bought_invoiced_and_held(app, signed_in, user, shop, seats_plan):
    add_to_cart(signed_in, seats_plan, 3)
    _, _, three_seats = review(signed_in)
    signed_in.post(f"/cart/{shop['crm']}/quantity", data={"quantity": "5"})
    page, key, five_seats = review(signed_in)
    assert five_seats != three_seats and "5 seats × $49.00" in page
    refused = pay(signed_in, key=key, fingerprint=three_seats)  # what was reviewed before the change
    assert refused.status_code == 409
    assert pay(signed_in).status_code == 303
    with app.app_context():
        sub = db.session.scalars(sa.select(Subscription)).one()
        assert sub.quantity == 5
        attempt = db.session.scalars(sa.select(CheckoutAttempt).where(CheckoutAttempt.status == "succeeded")).one()
        assert attempt.snapshot["lines"][0]["quantity"] == 5 and attempt.snapshot["lines"][0]["per_seat"] is True
        invoice = db.session.scalars(sa.select(Invoice).options(selectinload(Invoice.lines))).one()
        plan_line = next(line for line in invoice.lines if line.kind == "plan")
        assert plan_line.description == "Pipeline CRM · Team (monthly) · 5 seats × $49.00"
        assert (plan_line.quantity, plan_line.unit_amount, plan_line.amount) == (5, 4900, 24500)
        assert invoice.total == 26950  # 245.00 + 10 % fee
    mine = text(signed_in.get("/subscriptions/"))
    assert "per seat × 5 seats" in mine and 'data-action="change-seats"' in mine


# Changing seats -----------------------------------------------------------------------------------------------


def test_more_seats_is_an_upgrade_previewed_then_charged_now_for_the_rest_of_the_period(
    app, signed_in, user, seats_plan, gateway
):
    sub_id = _held(app, user.id, seats_plan, 3)
    page, form = preview(signed_in, sub_id, seats_plan, 5)
    assert "Change Pipeline CRM from 3 to 5 seats" in page
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        period = int((sub.current_period_end - sub.current_period_start).total_seconds())
    unused = int((sub.current_period_end - datetime.fromisoformat(form["previewed_at"])).total_seconds())
    credit, charge = share(14700, unused, period), share(24500, unused, period)
    assert f"${charge / 100:,.2f}" in page and f"-${credit / 100:,.2f}" in page
    assert "Remaining time on Team × 5 seats" in page and "Unused time on Team × 3 seats" in page
    assert "$269.50" in page  # the next renewal: 5 × 49.00 + 10 %
    assert _changes(app) == 0  # a preview writes nothing

    response = signed_in.post(f"/subscriptions/{sub_id}/change", data=form)
    assert response.status_code == 303, text(response)
    assert "Pipeline CRM is now on Team × 5 seats." in text(signed_in.get("/subscriptions/"))
    sub = _sub(app, sub_id)
    assert (sub.plan_id, sub.quantity) == (seats_plan, 5)
    with app.app_context():
        change = db.session.scalars(sa.select(PlanChange)).one()
        assert (change.kind, change.status, change.from_quantity, change.to_quantity) == ("upgrade", "applied", 3, 5)
        assert (change.credit, change.charge) == (credit, charge)
        invoice = db.session.get(Invoice, change.invoice_id)
        assert invoice.status == "paid" and invoice.total == change.total
        descriptions = db.session.scalars(
            sa.select(InvoiceLine.description).where(InvoiceLine.invoice_id == invoice.id)
        ).all()
        assert descriptions[0].startswith("Remaining time on Team × 5 seats")
        assert descriptions[1].startswith("Unused time on Team × 3 seats")
    assert [c["amount"] for c in gateway.charges()] == [change.total]
    assert "From 3 to 5 seats on Team." in text(signed_in.get(f"/subscriptions/{sub_id}"))


def test_fewer_seats_is_a_downgrade_scheduled_for_the_period_end_and_renewed_with_the_new_seats(
    app, signed_in, user, seats_plan, gateway
):
    from app.billing.services import lifecycle

    sub_id = _held(app, user.id, seats_plan, 5)
    page, form = preview(signed_in, sub_id, seats_plan, 2)
    assert "Schedule the switch" in page and "$107.80" in page  # the renewal: 2 × 49.00 + 10 %
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=form).status_code == 303
    assert "Switches to Team × 2 seats on" in text(signed_in.get("/subscriptions/"))
    assert _sub(app, sub_id).quantity == 5 and gateway.charges() == []
    end = _sub(app, sub_id).current_period_end
    with app.app_context():
        lifecycle.run(end + timedelta(minutes=1))
        renewal = db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == sub_id)).one()
        assert renewal.total == 10780 and db.session.get(Subscription, sub_id).quantity == 2


@pytest.mark.parametrize(
    ("plan", "quantity", "message"),
    [
        ("crm_team", "1", "Choose from 2 to 10 seats."),
        ("crm_team", "11", "Choose from 2 to 10 seats."),
        ("crm_team", "3", "You already have 3 seats on Team: choose another number."),
        ("crm_team", "0", "Enter the number of seats as a whole number"),
        ("crm_team", "2.5", "Enter the number of seats as a whole number"),
        ("crm_team", "-4", "Enter the number of seats as a whole number"),
        ("crm_team", "lots", "Enter the number of seats as a whole number"),
        ("crm_pro", "2", "The Pro plan is not priced per seat: its quantity is 1."),
    ],
)
def test_a_number_of_seats_that_cannot_be_chosen_is_refused_with_a_message_and_changes_nothing(
    app, signed_in, user, shop, seats_plan, gateway, plan, quantity, message
):
    sub_id = _held(app, user.id, seats_plan, 3)
    response = signed_in.get(f"/subscriptions/{sub_id}/change?plan={shop[plan]}&quantity={quantity}")
    assert response.status_code == 400 and message in text(response)
    assert 'id="seats-error"' in text(response)
    posted = {
        "plan_id": str(shop[plan]),
        "quantity": quantity,
        "idempotency_key": "k" * 24,
        "fingerprint": "x",
        "previewed_at": "",
    }
    response = signed_in.post(f"/subscriptions/{sub_id}/change", data=posted)
    assert response.status_code == 400 and message in text(response)
    assert _changes(app) == 0 and _sub(app, sub_id).quantity == 3 and gateway.charges() == []


def test_moving_to_a_plan_not_priced_per_seat_goes_to_one(app, signed_in, user, shop, seats_plan):
    sub_id = _held(app, user.id, seats_plan, 3)
    page, form = preview(signed_in, sub_id, shop["crm_pro"], "")
    assert form["quantity"] == "1" and "Switch Pipeline CRM from Team × 3 seats to Pro" in page


def test_another_users_seats_are_not_found(app, signed_in, shop, seats_plan):
    with app.app_context():
        other = make_user(username="grace")
        sub_id = SubscriptionFactory(user_id=other.id, plan_id=seats_plan, quantity=3).id
    assert signed_in.get(f"/subscriptions/{sub_id}/change?plan={seats_plan}&quantity=5").status_code == 404
    posted = {"plan_id": str(seats_plan), "quantity": "5", "idempotency_key": "k" * 24, "fingerprint": "x"}
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=posted).status_code == 404
    assert _sub(app, sub_id).quantity == 3


@pytest.mark.postgres
def test_ten_concurrent_submits_of_one_seat_change_charge_once_and_add_the_seats_once(
    app, signed_in, user, seats_plan, gateway
):
    sub_id = _held(app, user.id, seats_plan, 3)
    _, form = preview(signed_in, sub_id, seats_plan, 5)
    cookie = signed_in.get_cookie("session").value
    barrier = threading.Barrier(10)

    def submit(_):
        client = app.test_client()
        client.set_cookie("session", cookie)
        barrier.wait()
        return client.post(f"/subscriptions/{sub_id}/change", data=form).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(submit, range(10))) == {303}
    assert len(gateway.charges()) == 1
    assert _changes(app) == 1 and _sub(app, sub_id).quantity == 5


# Renewals -----------------------------------------------------------------------------------------------------


def test_a_renewal_run_with_at_bills_the_seats(app, signed_in, user, runner, seats_plan):
    add_to_cart(signed_in, seats_plan, 4)
    assert pay(signed_in).status_code == 303
    with app.app_context():
        sub = db.session.scalars(sa.select(Subscription)).one()
        end = sub.current_period_end
    at = (end + timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = runner.invoke(args=["billing", "run", "--at", at])
    assert result.exit_code == 0, result.output
    with app.app_context():
        renewal = db.session.scalars(
            sa.select(Invoice).options(selectinload(Invoice.lines)).where(Invoice.period_start == end)
        ).one()
        line = next(line for line in renewal.lines if line.kind == "plan")
        assert (line.quantity, line.amount) == (4, 19600) and "4 seats × $49.00" in line.description
        assert renewal.total == 21560 and renewal.status == "paid"
