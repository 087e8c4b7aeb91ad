from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog.comparison import compare, monthly_equivalent, saving_percent, split_feature
from app.catalog.queries import final_price_sql
from app.extensions import db
from app.models.catalog import Plan
from tests.factories import ProductFactory


@pytest.mark.parametrize(
    "price,discount,final",
    [
        (999, "33.33", 666),  # discount 332.9667 → 333
        (999, "0", 999),
        (999, "0.00", 999),
        (999, "100", 0),
        (999, "100.00", 0),
        (1, "50", 0),  # discount 0.5 → 1 (half up)
        (3, "50", 1),  # 1.5 → 2
        (5, "10", 4),  # 0.5 → 1
        (999, "50", 499),  # 499.5 → 500
        (10, "5.05", 9),  # 0.505 → 1
        (10, "4.99", 10),  # 0.499 → 0
        (0, "25", 0),
        (123456789012, "12.34", 108222221248),  # discount 15234567764.0808 → …764
    ],
)
def test_final_price_rounds_the_discount_half_up_to_the_minor_unit(price, discount, final):
    plan = Plan(price=price, discount_percent=Decimal(discount))
    assert plan.final_price == final
    assert plan.discount_amount == price - final


def test_final_price_in_sql_matches_python_for_every_rounding_edge(app, session):
    product = ProductFactory(slug="edges", plans__tiers=(("Only", 100),), plans__cycles=("monthly",))
    cases = [
        (999, "33.33"),
        (999, "0"),
        (999, "100"),
        (1, "50"),
        (3, "50"),
        (5, "10"),
        (999, "50"),
        (10, "5.05"),
        (10, "4.99"),
        (7, "7.14"),
        (2999, "12.50"),
        (4900, "33.33"),
        (123456789012, "12.34"),
    ]
    cases += [(p, f"{d}.{c:02d}") for p in (1, 99, 1001) for d in (0, 12, 49, 99) for c in (0, 5, 25, 50, 75, 99)]
    session.execute(
        sa.insert(Plan),
        [
            {
                "product_id": product.id,
                "name": f"case {i}",
                "billing_cycle": "monthly",
                "price": price,
                "discount_percent": Decimal(discount),
                "features": [],
            }
            for i, (price, discount) in enumerate(cases)
        ],
    )
    session.commit()
    rows = session.execute(sa.select(Plan, final_price_sql()).where(Plan.name.like("case %"))).all()
    assert len(rows) == len(cases)
    mismatches = [(p.price, str(p.discount_percent), p.final_price, sql) for p, sql in rows if p.final_price != sql]
    assert mismatches == []


@pytest.mark.parametrize(
    "amount,cycle,monthly,saving",
    [
        (29000, "yearly", 2900, 17),  # ten months for twelve: 16.67 % → 17
        (27840, "yearly", 2900, 20),
        (8300, "quarterly", 2900, 5),  # 8700 over a quarter
        (2900, "monthly", 2900, None),  # the monthly price saves nothing against itself
        (800, "weekly", 2900, None),  # weekly costs more per month: no "saving"
        (34800, "yearly", 2900, None),  # exactly twelve months: 0 %
        (29000, "yearly", None, None),  # no monthly plan to compare with
        (0, "yearly", 2900, 100),
    ],
)
def test_saving_compares_monthly_normalized_final_prices(amount, cycle, monthly, saving):
    assert saving_percent(amount, cycle, monthly) == saving


def test_monthly_equivalent_rounds_half_up():
    assert monthly_equivalent(29000, "yearly") == 2417  # 2416.67
    assert monthly_equivalent(800, "weekly") == 3467  # 800 × 52 / 12 = 3466.67
    assert monthly_equivalent(8700, "quarterly") == 2900


def test_features_written_key_colon_value_line_up_as_comparison_rows():
    assert split_feature("Seats: up to 25") == ("Seats", "up to 25")
    assert split_feature("Email and calendar sync") == ("Email and calendar sync", None)
    assert split_feature("Note: " + "x" * 10)[0] == "Note"
    assert split_feature("A very long sentence that happens to contain: a colon somewhere")[1] is None


def test_comparison_puts_tiers_side_by_side_with_their_saving_and_features(app, session):
    product = ProductFactory(slug="compare", plans__tiers=(("Basic", 1000), ("Pro", 3000)))
    product = session.scalar(
        sa.select(type(product))
        .where(type(product).slug == "compare")
        .options(sa.orm.selectinload(type(product).plans))
    )
    yearly = compare(product.plans, "yearly")
    assert [o.plan.name for o in yearly.offers] == ["Basic", "Pro"]
    assert [o.price for o in yearly.offers] == [10000, 30000]
    assert [o.saving for o in yearly.offers] == [17, 17]
    assert [c.cycle for c in yearly.cycles] == ["weekly", "monthly", "quarterly", "half_yearly", "yearly"]
    assert {c.cycle: c.best_saving for c in yearly.cycles}["yearly"] == 17
    assert [(r.label, r.values) for r in yearly.features] == [("Seats", ["5", "10"]), ("Email support", [True, True])]
    db.session.rollback()
