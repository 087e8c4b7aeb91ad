"""Make catalog products for tests, through the same services the admin pages use."""

from __future__ import annotations

from app.catalog import services
from app.models.catalog import BILLING_CYCLES


def make_product(
    slug: str,
    *,
    name: str | None = None,
    category: str = "CRM",
    tagline: str = "",
    description: str = "",
    schema: dict | None = None,
    tiers=(("Basic", 1000),),
    cycles=BILLING_CYCLES,
    trial_days: int = 14,
    discount: str = "0",
    **fields,
):
    """A product with one plan per tier and cycle; a tier's price per cycle is its monthly price × months."""
    months = {"weekly": 0.25, "monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 10}
    product = services.save_product(
        slug=slug,
        name=name or slug.replace("-", " ").title(),
        category=category,
        tagline=tagline,
        description=description,
        product_schema=schema or {},
        **fields,
    )
    for order, (tier, monthly) in enumerate(tiers):
        for cycle in cycles:
            services.create_plan(
                product,
                name=tier,
                billing_cycle=cycle,
                price=int(monthly * months[cycle]),
                trial_days=trial_days,
                discount_percent=discount,
                features=[f"Seats: {5 * (order + 1)}", "Email support"],
                sort_order=order,
            )
    return product
