"""Demo data: `flask seed-demo` loads a realistic catalog; load tests load a large synthetic one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app.catalog import fees, services
from app.catalog.demo_data import PRODUCTS
from app.extensions import db
from app.models.base import utcnow
from app.models.catalog import BILLING_CYCLES, Plan, PlatformFee, PlatformFeeChange, Product

DEMO_FEE = "2.50"
# Longer commitments cost less per month; paying weekly costs a little more.
CYCLE_FACTORS = {
    "weekly": Decimal(12) / Decimal(52) * Decimal("1.2"),
    "monthly": Decimal(1),
    "quarterly": Decimal(3) * Decimal("0.95"),
    "half_yearly": Decimal(6) * Decimal("0.9"),
    "yearly": Decimal(10),
}  # two months free


def cycle_price(monthly_minor: int, cycle: str, yearly_months: str = "10") -> int:
    """The demo price per `cycle` for a monthly price, in whole currency units."""
    factor = Decimal(yearly_months) if cycle == "yearly" else CYCLE_FACTORS[cycle]
    units = (Decimal(monthly_minor) * factor / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(units) * 100


def seed_demo_catalog() -> str:
    """Add the demo products that are missing (a product already there is left as it is)."""
    existing = set(db.session.scalars(sa.select(Product.slug)))
    products = plans = 0
    for spec in PRODUCTS:
        if spec["slug"] in existing:
            continue
        product = services.save_product(
            slug=spec["slug"],
            name=spec["name"],
            category=spec["category"],
            tagline=spec["tagline"],
            description=spec["description"],
            icon=spec["icon"],
            product_schema=spec["schema"],
        )
        products += 1
        for order, (tier, monthly, trial_days, features) in enumerate(spec["tiers"]):
            for cycle in BILLING_CYCLES:
                services.create_plan(
                    product,
                    name=tier,
                    billing_cycle=cycle,
                    price=cycle_price(monthly, cycle, spec.get("yearly_months", "10")),
                    discount_percent=spec["discounts"].get((tier, cycle), "0"),
                    trial_days=trial_days,
                    features=features,
                    sort_order=order,
                )
                plans += 1
    lines = [
        f"catalog: added {products} products with {plans} plans"
        if products
        else f"catalog: nothing new ({len(existing)} products already there)"
    ]
    if _set_demo_fee():
        lines.append(f"platform fee: set to {DEMO_FEE}%")
    return "; ".join(lines)


def _set_demo_fee() -> bool:
    """A demo fee, only while the fee is still the untouched 0 % (an operator's choice always wins)."""
    row = db.session.get(PlatformFee, 1)
    untouched = db.session.scalar(sa.select(sa.func.count()).select_from(PlatformFeeChange)) == 0
    if row is None or row.percent != 0 or not untouched:
        return False
    fees.set_fee(DEMO_FEE, actor_id=None, reason="Demo data")
    return True


WORDS = [
    "invoice",
    "pipeline",
    "dashboard",
    "inbox",
    "chat",
    "email",
    "campaign",
    "forecast",
    "report",
    "sync",
    "backup",
    "search",
    "calendar",
    "survey",
    "roadmap",
    "ticket",
    "vault",
    "audit",
    "workflow",
    "timeline",
    "analytics",
    "contacts",
    "billing",
    "metrics",
]
CATEGORIES = ("CRM", "Analytics", "Helpdesk", "Marketing", "Productivity", "Security", "Finance", "Developer tools")


def bulk_load_catalog(count: int, *, plans_per_product: int = 5, prefix: str = "load") -> int:
    """Insert `count` synthetic products with `plans_per_product` plans each (one per cycle, round robin).

    Bulk inserts, for load tests and benchmarks; returns the number of plans. The caller commits.
    """
    now = utcnow()
    products, plans = [], []
    for i in range(count):
        product_id = uuid.uuid4()
        a, b, c = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)], WORDS[(i * 13 + 5) % len(WORDS)]
        products.append(
            {
                "id": product_id,
                "slug": f"{prefix}-{i:05d}",
                "name": f"{a.capitalize()} {b.capitalize()} {i}",
                "tagline": f"{a.capitalize()} and {b} for growing teams",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "description": f"A {a} tool with {b} and {c}.\n\nBuilt for teams that need {c} every day.",
                "icon": "",
                "is_active": True,
                "product_schema": {},
                "created_at": now - timedelta(minutes=i),
                "updated_at": now,
            }
        )
        for j in range(plans_per_product):
            cycle = BILLING_CYCLES[j % len(BILLING_CYCLES)]
            monthly = 900 + (i * 37 + j * 500) % 20_000
            plans.append(
                {
                    "id": uuid.uuid4(),
                    "product_id": product_id,
                    "name": f"Tier {j // len(BILLING_CYCLES) + 1}",
                    "billing_cycle": cycle,
                    "price": cycle_price(monthly, cycle),
                    "currency": "USD",
                    "discount_percent": Decimal((i + j) % 4 * 5),
                    "trial_days": 14 if j % 2 == 0 else 0,
                    "features": [f"Seats: {5 * (j + 1)}", a.capitalize(), b.capitalize()],
                    "is_active": True,
                    "sort_order": j // len(BILLING_CYCLES),
                    "created_at": now,
                    "updated_at": now,
                }
            )
    db.session.execute(sa.insert(Product), products)
    db.session.execute(sa.insert(Plan), plans)
    return len(plans)
