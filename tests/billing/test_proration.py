"""The proration arithmetic, case by case: credit = paid × unused/period, charge = new × remaining/period."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.billing.proration import ChangeKind, kind_of, prorate, share


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# (case, at, period start, period end, paid, new net, old cycle, new cycle, fee %,
#  kind, credit, charge, fee, total, new period end)
CASES = [
    (
        "mid-period upgrade: half of a 30-day month left",
        utc(2027, 4, 16),
        utc(2027, 4, 1),
        utc(2027, 5, 1),
        4900,
        9900,
        "monthly",
        "monthly",
        "10",
        ChangeKind.UPGRADE,
        2450,  # 4900 × 15/30
        4950,  # 9900 × 15/30
        250,  # 10 % of 2500
        2750,
        utc(2027, 5, 1),
    ),
    (
        "upgrade by the second, each amount rounded once half up",
        utc(2027, 4, 1, 0, 0, 1),  # one second in: 2,591,999 of 2,592,000 seconds left
        utc(2027, 4, 1),
        utc(2027, 5, 1),
        4900,
        9900,
        "monthly",
        "monthly",
        "2.5",
        ChangeKind.UPGRADE,
        4900,  # 4899.998… → 4900
        9900,  # 9899.996… → 9900
        125,  # 2.5 % of 5000
        5125,
        utc(2027, 5, 1),
    ),
    (
        "downgrade at once: the credit exceeds the charge, the fee given back on it",
        utc(2027, 4, 11),
        utc(2027, 4, 1),
        utc(2027, 5, 1),
        9900,
        4900,
        "monthly",
        "monthly",
        "10",
        ChangeKind.DOWNGRADE,
        6600,  # 9900 × 20/30
        3267,  # 4900 × 20/30 = 3266.67
        -333,  # 10 % of -3333, half away from zero
        -3666,
        utc(2027, 5, 1),
    ),
    (
        "cycle change monthly → yearly: a new period now, its price less the credit",
        utc(2027, 4, 21),
        utc(2027, 4, 1),
        utc(2027, 5, 1),
        4900,
        42120,  # 46800 less 10 %
        "monthly",
        "yearly",
        "0",
        ChangeKind.CYCLE,
        1633,  # 4900 × 10/30 = 1633.33
        42120,
        0,
        40487,
        utc(2028, 4, 21),
    ),
    (
        "zero-length remainder: a change at the period end costs nothing",
        utc(2027, 5, 1),
        utc(2027, 4, 1),
        utc(2027, 5, 1),
        4900,
        9900,
        "monthly",
        "monthly",
        "10",
        ChangeKind.UPGRADE,
        0,
        0,
        0,
        0,
        utc(2027, 5, 1),
    ),
    (
        "a leap year's February has 29 days: 14 of them left",
        utc(2028, 2, 16),
        utc(2028, 2, 1),
        utc(2028, 3, 1),
        2900,
        5800,
        "monthly",
        "monthly",
        "0",
        ChangeKind.UPGRADE,
        1400,  # 2900 × 14/29
        2800,
        0,
        1400,
        utc(2028, 3, 1),
    ),
    (
        "a yearly period across a leap day is 366 days: 183 of them left",
        utc(2028, 1, 1),
        utc(2027, 7, 2),
        utc(2028, 7, 2),
        36600,
        73200,
        "yearly",
        "yearly",
        "0",
        ChangeKind.UPGRADE,
        18300,  # 36600 × 183/366
        36600,
        0,
        18300,
        utc(2028, 7, 2),
    ),
]


@pytest.mark.parametrize(
    (
        "at",
        "start",
        "end",
        "paid",
        "new_net",
        "old_cycle",
        "new_cycle",
        "fee",
        "kind",
        "credit",
        "charge",
        "fee_amount",
        "total",
        "new_end",
    ),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_proration_case(
    at, start, end, paid, new_net, old_cycle, new_cycle, fee, kind, credit, charge, fee_amount, total, new_end
):
    p = prorate(
        at=at,
        period_start=start,
        period_end=end,
        paid=paid,
        new_net=new_net,
        old_cycle=old_cycle,
        new_cycle=new_cycle,
        fee_percent=Decimal(fee),
    )
    assert (p.kind, p.credit, p.charge, p.fee, p.total, p.new_period_end) == (
        kind,
        credit,
        charge,
        fee_amount,
        total,
        new_end,
    )
    assert p.due_now == max(0, total) and p.credited == max(0, -total)


def test_a_period_with_a_daylight_saving_change_counts_its_real_seconds():
    """New York springs forward on 14 March 2027: the local month from 1 March to 1 April is 743 hours, not 744,
    and the 15 days left after the change are 15 × 24 hours exactly."""
    ny = ZoneInfo("America/New_York")
    start, end = datetime(2027, 3, 1, tzinfo=ny), datetime(2027, 4, 1, tzinfo=ny)
    at = datetime(2027, 3, 17, tzinfo=ny)
    p = prorate(
        at=at.astimezone(UTC),
        period_start=start.astimezone(UTC),
        period_end=end.astimezone(UTC),
        paid=74300,
        new_net=148600,
        old_cycle="monthly",
        new_cycle="monthly",
        fee_percent=Decimal("0"),
    )
    assert p.period_seconds == 743 * 3600
    assert p.unused_seconds == 15 * 24 * 3600
    assert (p.credit, p.charge) == (36000, 72000)  # 74300 × 360/743, 148600 × 360/743


def test_a_price_change_of_the_same_amount_on_the_same_cycle_is_a_downgrade_not_an_upgrade():
    at = utc(2027, 1, 1)
    assert kind_of(4900, "monthly", 4900, "monthly", at) is ChangeKind.DOWNGRADE
    assert kind_of(4900, "monthly", 4901, "monthly", at) is ChangeKind.UPGRADE
    assert kind_of(4900, "monthly", 100, "yearly", at) is ChangeKind.CYCLE


def test_share_rounds_half_up_once_and_never_exceeds_the_amount():
    assert share(1, 1, 2) == 1  # 0.5 → 1
    assert share(3, 1, 2) == 2  # 1.5 → 2
    assert share(100, 5, 0) == 0  # an empty period
    assert share(100, 10, 5) == 100  # more left than the period: the whole amount
