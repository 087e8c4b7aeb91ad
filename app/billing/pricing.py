"""Prices for a cart line or a renewal: subtotal, discount, coupon, platform fee, total.

Integer minor units; each amount is rounded ROUND_HALF_UP once, per line. An
invoice's lines are exactly these amounts, so its total is the sum of its lines.

A per-seat plan's line is unit price × seats; any other plan is bought once (quantity 1). In order: the plan's
own discount on the subtotal, then a coupon on what is left (a percent of it, or a fixed amount never more than
it), then the platform fee on the net.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.models.catalog import CYCLE_LABELS, Plan, Product
from app.money import format_money, percent_of, percent_text


def seats_problem(plan: Plan, quantity: int) -> str | None:
    """Why `quantity` can't be bought on `plan` (None when it can): a per-seat plan takes min_seats–max_seats,
    any other plan exactly 1."""
    if not plan.per_seat:
        return None if quantity == 1 else f"The {plan.name} plan is not priced per seat: its quantity is 1."
    if not plan.min_seats <= quantity <= plan.max_seats:
        return f"Choose from {plan.min_seats} to {plan.max_seats} seats."
    return None


@dataclass(frozen=True)
class CouponTerms:
    """A coupon as it applies to a line: a percent off, or an amount off in the line's currency."""

    code: str
    percent_off: Decimal | None = None
    amount_off: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CouponTerms:
        """As an order's snapshot or a subscription keeps it: code, percent_off (text or None), amount_off."""
        percent = data.get("percent_off")
        return cls(
            code=str(data.get("code") or ""),
            percent_off=Decimal(percent) if percent is not None else None,
            amount_off=int(data.get("amount_off") or 0),
        )

    def as_dict(self) -> dict[str, Any]:
        percent = None if self.percent_off is None else str(self.percent_off)
        return {"code": self.code, "percent_off": percent, "amount_off": self.amount_off}

    def off(self, amount: int) -> int:
        if self.percent_off is not None:
            return percent_of(amount, self.percent_off)
        return min(self.amount_off, amount)

    def label(self, currency: str) -> str:
        size = (
            f"{percent_text(self.percent_off)}%"
            if self.percent_off is not None
            else format_money(self.amount_off, currency)
        )
        return f"Promo code {self.code} ({size} off)"


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
    coupon: CouponTerms | None = None

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity

    @property
    def discount(self) -> int:
        return percent_of(self.subtotal, self.discount_percent)

    @property
    def coupon_discount(self) -> int:
        """The coupon's part, on the subtotal after the plan's discount."""
        return self.coupon.off(self.subtotal - self.discount) if self.coupon else 0

    @property
    def all_discounts(self) -> int:
        return self.discount + self.coupon_discount

    @property
    def net(self) -> int:
        return self.subtotal - self.all_discounts

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


def price_line(
    plan: Plan, product: Product, quantity: int, fee_percent: Decimal, coupon: CouponTerms | None = None
) -> PricedLine:
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
        coupon=coupon,
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
    coupon_discount = property(lambda self: self._sum("coupon_discount"))
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
        coupons = sorted(
            [str(line.plan_id), line.coupon.code, str(line.coupon.percent_off), line.coupon.amount_off]
            for line in self.lines
            if line.coupon
        )
        if coupons:
            data["coupons"] = coupons
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
