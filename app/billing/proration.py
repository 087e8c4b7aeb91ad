"""Proration of a plan change, by the second (as Stripe does). Pure functions, integer minor units.

Everything works on the subscription's plan line after the plan's own discount (its `net`), before the
platform fee: the fee then applies to the proration invoice like any other invoice.

- credit = paid × unused / period      (the unused part of the current period, on what was paid)
- charge = new_net × remaining / period (the rest of the period on the new plan)

each rounded once, ROUND_HALF_UP, to a whole minor unit. Seconds are counted between UTC instants, so a
daylight-saving change in the customer's zone neither adds nor removes an hour, and a leap day is one more
day of the period. A change of billing cycle starts a new period at the change: the charge is the new plan's
full net price for that period and the credit is applied against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from app.billing.periods import add_cycle
from app.money import percent_of


class ChangeKind(StrEnum):
    UPGRADE = "upgrade"  # more per day on the same cycle: at once, the difference charged now
    DOWNGRADE = "downgrade"  # less (or the same) per day on the same cycle: at period end, or at once for a credit
    CYCLE = "cycle"  # another billing cycle: a new period starts now, the credit applied


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def share(amount: int, part_seconds: int, whole_seconds: int) -> int:
    """amount × part / whole, rounded once ROUND_HALF_UP to a minor unit (0 for an empty period)."""
    if whole_seconds <= 0 or part_seconds <= 0:
        return 0
    part_seconds = min(part_seconds, whole_seconds)
    value = Decimal(int(amount)) * Decimal(part_seconds) / Decimal(whole_seconds)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def kind_of(old_net: int, old_cycle: str, new_net: int, new_cycle: str, at: datetime) -> ChangeKind:
    """Upgrade when the new plan costs more per second of the same cycle; another cycle is a cycle change."""
    if old_cycle != new_cycle:
        return ChangeKind.CYCLE
    # Same cycle, same period length: compare the prices themselves (exact, no per-day rounding).
    return ChangeKind.UPGRADE if new_net > old_net else ChangeKind.DOWNGRADE


@dataclass(frozen=True)
class Proration:
    """What a change at `at` costs. Amounts are net of the plans' discounts, before the platform fee."""

    kind: ChangeKind
    at: datetime
    period_start: datetime  # the current period
    period_end: datetime
    new_period_start: datetime  # the period the new plan runs for after the change
    new_period_end: datetime
    paid: int  # the current plan line's net for the current period
    new_net: int  # the new plan line's net for one period of its cycle
    period_seconds: int
    unused_seconds: int
    credit: int  # for the unused part of the current period
    charge: int  # for the rest of the period (or the new period) on the new plan
    fee_percent: Decimal

    @property
    def net(self) -> int:
        """charge − credit: positive is owed by the customer, negative is owed to them."""
        return self.charge - self.credit

    @property
    def fee(self) -> int:
        """The platform fee on the net, signed like it (a credit gives back the fee on it too)."""
        return percent_of(self.net, self.fee_percent)  # ROUND_HALF_UP rounds a half away from zero either way

    @property
    def total(self) -> int:
        return self.net + self.fee

    @property
    def due_now(self) -> int:
        return max(0, self.total)

    @property
    def credited(self) -> int:
        """What goes to the customer's credit balance (with a credit note) when the credit exceeds the charge."""
        return max(0, -self.total)


def prorate(
    *,
    at: datetime,
    period_start: datetime,
    period_end: datetime,
    paid: int,
    new_net: int,
    old_cycle: str,
    new_cycle: str,
    fee_percent: Decimal,
    kind: ChangeKind | None = None,
) -> Proration:
    """The credit and charge of changing plan at `at` within the period [period_start, period_end).

    `kind` defaults to what the prices say (`kind_of`); `at` outside the period is clamped into it.
    """
    at = min(max(at, period_start), period_end)
    period = _seconds(period_start, period_end)
    unused = _seconds(at, period_end)
    kind = kind or kind_of(paid, old_cycle, new_net, new_cycle, at)
    credit = share(paid, unused, period)
    if kind is ChangeKind.CYCLE:
        new_start, new_end = at, add_cycle(at, new_cycle)
        charge = int(new_net)
    else:
        new_start, new_end = at, period_end
        charge = share(new_net, unused, period)
    return Proration(
        kind=kind,
        at=at,
        period_start=period_start,
        period_end=period_end,
        new_period_start=new_start,
        new_period_end=new_end,
        paid=int(paid),
        new_net=int(new_net),
        period_seconds=period,
        unused_seconds=unused,
        credit=credit,
        charge=charge,
        fee_percent=Decimal(fee_percent),
    )
