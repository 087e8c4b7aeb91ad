"""The factories make rows the app accepts: related rows by object, by id, or made on the way."""

import sqlalchemy as sa

from app.auth.passwords import verify_password
from app.models.billing import Invoice, Subscription
from app.models.catalog import Plan, Product
from app.models.user import User
from tests.factories import (
    DEFAULT_PASSWORD,
    InvoiceFactory,
    NotificationFactory,
    PlanFactory,
    ProductFactory,
    SubscriptionFactory,
    UserFactory,
)


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_user_signs_in_with_the_default_password_and_has_the_role_named(session):
    staff = UserFactory(username="boss", role="admin")
    unverified = UserFactory(verified=False, password=None)
    assert staff.email == "boss@example.test" and staff.role.name == "admin"
    assert verify_password(staff.password_hash, DEFAULT_PASSWORD)
    assert unverified.email_verified_at is None and unverified.password_hash is None


def test_a_subscription_made_alone_brings_its_user_plan_and_product(session):
    subscription = SubscriptionFactory()
    plan = session.get(Plan, subscription.plan_id)
    assert subscription.product_id == plan.product_id and session.get(User, subscription.user_id) is not None
    assert subscription.current_period_end > subscription.current_period_start == subscription.started_at
    assert (count(session, User), count(session, Plan), count(session, Product)) == (1, 1, 1)


def test_related_rows_given_by_object_or_by_id_are_not_made_again(session):
    ada, grace, plan = UserFactory(), UserFactory(), PlanFactory()
    SubscriptionFactory(user=ada, plan=plan)
    SubscriptionFactory(user_id=grace.id, plan_id=plan.id)
    NotificationFactory(user=ada)
    assert (count(session, User), count(session, Plan), count(session, Subscription)) == (2, 1, 2)


def test_a_product_asked_for_plans_gets_one_per_tier_and_cycle_priced_from_the_monthly_price(session):
    product = ProductFactory(
        slug="pipewise-crm", plans__tiers=(("Starter", 1000), ("Pro", 3000)), plans__cycles=("monthly", "yearly")
    )
    prices = session.execute(sa.select(Plan.name, Plan.billing_cycle, Plan.price).where(Plan.product_id == product.id))
    assert sorted(prices) == [
        ("Pro", "monthly", 3000),
        ("Pro", "yearly", 30000),
        ("Starter", "monthly", 1000),
        ("Starter", "yearly", 10000),
    ]
    assert product.name == "Pipewise Crm" and ProductFactory().id not in {
        p.product_id for p in session.scalars(sa.select(Plan))
    }


def test_invoices_are_numbered_by_the_real_counter_and_a_paid_one_records_its_transfer(session):
    plan = PlanFactory()
    first, second = InvoiceFactory.create_batch(2, plan=plan)
    paid = InvoiceFactory(plan=plan, status="paid")
    assert first.number < second.number < paid.number and (first.status, paid.status) == ("open", "paid")
    assert paid.transaction_id is not None and count(session, Invoice) == 3
