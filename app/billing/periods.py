"""Billing periods: add one cycle to a moment (calendar months, clamped to the month's end)."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_cycle(moment: datetime, cycle: str) -> datetime:
    if cycle == "weekly":
        return moment + timedelta(days=7)
    return add_months(moment, MONTHS[cycle])


def add_cycles(moment: datetime, cycle: str, count: int) -> datetime:
    """`count` cycles after `moment`, counted from `moment` (31 Jan + 2 months is 31 Mar, not 28 Mar)."""
    if cycle == "weekly":
        return moment + timedelta(days=7 * count)
    return add_months(moment, MONTHS[cycle] * count)
