"""Prices for a cart line or a renewal: subtotal, discount, platform fee, total.

Integer minor units; each amount is rounded ROUND_HALF_UP once, per line. An
invoice's lines are exactly these amounts, so its total is the sum of its lines.

A per-seat plan's line is unit price × seats; the plan's discount and then the platform fee apply to that
subtotal, exactly as for any line. Any other plan is bought once (quantity 1).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from app.models.catalog import CYCLE_LABELS, Plan, Product
from app.money import format_money, percent_of


def seats_problem(plan: Plan, quantity: int) -> str | None:
    """Why `quantity` can't be bought on `plan` (None when it can): a per-seat plan takes min_seats–max_seats,
    any other plan exactly 1."""
    if not plan.per_seat:
        return None if quantity == 1 else f"The {plan.name} plan is not priced per seat: its quantity is 1."
    if not plan.min_seats <= quantity <= plan.max_seats:
        return f"Choose from {plan.min_seats} to {plan.max_seats} seats."
    return None


@dataclass(frozen=True)
class PricedLine:
    product_id: uuid.UUID
    product_name: str
    plan_id: uuid.UUID
    plan_name: str
    cycle: str
    currency: str
    quantity: int
    unit_price: int
    discount_percent: Decimal
    fee_percent: Decimal
    per_seat: bool = False

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity

    @property
    def discount(self) -> int:
        return percent_of(self.subtotal, self.discount_percent)

    @property
    def net(self) -> int:
        return self.subtotal - self.discount

    @property
    def fee(self) -> int:
        return percent_of(self.net, self.fee_percent)

    @property
    def total(self) -> int:
        return self.net + self.fee

    @property
    def unit_final(self) -> int:
        """The per-unit price after discount, as the catalog shows it."""
        return self.unit_price - percent_of(self.unit_price, self.discount_percent)

    @property
    def seats_text(self) -> str:
        """ "5 seats × €10.00" for a per-seat line (the unit price before the discount); "" otherwise."""
        if not self.per_seat:
            return ""
        noun = "seat" if self.quantity == 1 else "seats"
        return f"{self.quantity} {noun} × {format_money(self.unit_price, self.currency)}"

    @property
    def description(self) -> str:
        text = f"{self.product_name} · {self.plan_name} ({CYCLE_LABELS.get(self.cycle, self.cycle).lower()})"
        return f"{text} · {self.seats_text}" if self.per_seat else text


def price_line(plan: Plan, product: Product, quantity: int, fee_percent: Decimal) -> PricedLine:
    return PricedLine(
        product_id=product.id,
        product_name=product.name,
        plan_id=plan.id,
        plan_name=plan.name,
        cycle=plan.billing_cycle,
        currency=plan.currency,
        quantity=int(quantity),
        unit_price=int(plan.price),
        discount_percent=Decimal(plan.discount_percent or 0),
        fee_percent=Decimal(fee_percent),
        per_seat=bool(plan.per_seat),
    )


@dataclass
class Quote:
    lines: list[PricedLine]
    fee_percent: Decimal
    problems: list[str] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.lines[0].currency if self.lines else "USD"

    def _sum(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.lines)

    subtotal = property(lambda self: self._sum("subtotal"))
    discount = property(lambda self: self._sum("discount"))
    fee = property(lambda self: self._sum("fee"))
    total = property(lambda self: self._sum("total"))

    def fingerprint(self) -> str:
        """What the customer reviewed, as a hash: any change to a line, a price or the fee changes it."""
        data = {
            "lines": sorted(
                [str(line.plan_id), line.quantity, line.unit_price, str(line.discount_percent), line.currency]
                for line in self.lines
            ),
            "fee": str(self.fee_percent),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
