"""A product's plans side by side: prices per cycle, savings against paying monthly, the feature matrix."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.models.catalog import BILLING_CYCLES, CYCLE_LABELS, CYCLE_MONTHS, Plan

HUNDRED = Decimal(100)
# "Seats: up to 25" compares as a row "Seats" with the value "up to 25"; other features are ticks.
MAX_FEATURE_KEY = 40
UNITS = {"weekly": "week", "monthly": "month", "quarterly": "quarter", "half_yearly": "half-year", "yearly": "year"}


def monthly_equivalent(amount_minor: int, cycle: str) -> int:
    """What a price per `cycle` comes to per month, ROUND_HALF_UP to the minor unit."""
    return int((Decimal(amount_minor) / CYCLE_MONTHS[cycle]).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def saving_percent(amount_minor: int, cycle: str, monthly_minor: int | None) -> int | None:
    """Whole percent saved by paying `amount_minor` per `cycle` instead of `monthly_minor` every month.

    None when there is nothing to compare or nothing saved.
    """
    if cycle == "monthly" or not monthly_minor:
        return None
    over_the_cycle = Decimal(monthly_minor) * CYCLE_MONTHS[cycle]
    saved = ((1 - Decimal(amount_minor) / over_the_cycle) * HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(saved) if saved > 0 else None


def split_feature(text: str) -> tuple[str, str | None]:
    key, sep, value = str(text).partition(": ")
    if sep and key and value and len(key) <= MAX_FEATURE_KEY:
        return key, value
    return str(text), None


@dataclass
class Offer:
    plan: Plan
    price: int  # final price per cycle
    per_month: int
    saving: int | None  # percent saved against the same tier paid monthly

    @property
    def discounted(self) -> bool:
        return self.price < self.plan.price


@dataclass
class CycleChoice:
    cycle: str
    label: str
    best_saving: int | None


@dataclass
class FeatureRow:
    label: str
    values: list[bool | str]  # per offer: True (included), False (not), or a text value


@dataclass
class Comparison:
    cycle: str
    cycles: list[CycleChoice]
    offers: list[Offer]
    features: list[FeatureRow]

    @property
    def label(self) -> str:
        return CYCLE_LABELS[self.cycle]

    @property
    def unit(self) -> str:
        return UNITS[self.cycle]

    @property
    def longest_trial(self) -> int:
        return max((o.plan.trial_days for o in self.offers), default=0)


def offered_cycles(plans: list[Plan]) -> list[str]:
    present = {p.billing_cycle for p in plans}
    return [c for c in BILLING_CYCLES if c in present]


def default_cycle(plans: list[Plan]) -> str | None:
    cycles = offered_cycles(plans)
    return "monthly" if "monthly" in cycles else (cycles[0] if cycles else None)


def compare(plans: list[Plan], cycle: str) -> Comparison:
    """The comparison for one cycle of a product's active plans (tiers matched across cycles by name)."""
    monthly = {p.name: p.final_price for p in plans if p.billing_cycle == "monthly"}

    def offer(plan: Plan) -> Offer:
        price = plan.final_price
        return Offer(
            plan,
            price,
            monthly_equivalent(price, plan.billing_cycle),
            saving_percent(price, plan.billing_cycle, monthly.get(plan.name)),
        )

    by_cycle: dict[str, list[Offer]] = {}
    for plan in sorted(plans, key=lambda p: (p.sort_order, p.price, p.name)):
        by_cycle.setdefault(plan.billing_cycle, []).append(offer(plan))
    cycles = [
        CycleChoice(c, CYCLE_LABELS[c], max((o.saving or 0 for o in by_cycle[c]), default=0) or None)
        for c in offered_cycles(plans)
    ]
    offers = by_cycle.get(cycle, [])
    return Comparison(cycle=cycle, cycles=cycles, offers=offers, features=_feature_rows(offers))


def _feature_rows(offers: list[Offer]) -> list[FeatureRow]:
    rows: dict[str, list[bool | str]] = {}
    for column, item in enumerate(offers):
        for text in item.plan.features or []:
            key, value = split_feature(text)
            values = rows.setdefault(key, [False] * len(offers))
            values[column] = value if value is not None else True
    return [FeatureRow(label, values) for label, values in rows.items()]
