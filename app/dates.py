"""How a date or a time reads: one home for the formats pages, emails and notices share.

Times are stored in UTC and shown in a zone: the one `shown_in` set around the work (the
viewer's for a request, the recipient's for an email or a notice — app/timezones.py picks
them), else UTC. A date-time names its zone ("07 Dec 2026, 14:05 CET"); a date is the day
it is in that zone. Values may be ISO strings too: an email's payload is JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

UTC_ZONE = ZoneInfo("UTC")
# Names zoneinfo lists that are no place's zone: the machine's own setting and the "no zone" placeholder.
_NOT_PLACES = frozenset({"localtime", "Factory"})
# zoneinfo's abbreviation for a zone whose time has no name of its own ("+03"): the IANA name says more.
_BARE_OFFSET = re.compile(r"^[+-]\d{2}(\d{2})?$")
_shown: ContextVar[ZoneInfo | None] = ContextVar("shown_zone", default=None)


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted."""
    return tuple(sorted(available_timezones() - _NOT_PLACES))


@cache
def _known() -> frozenset[str]:
    return frozenset(zone_names())


def zone_named(name: object) -> ZoneInfo | None:
    """The zone called `name`, or None when it isn't an IANA name we know."""
    if not isinstance(name, str) or name not in _known():
        return None
    return ZoneInfo(name)


def current_zone() -> ZoneInfo:
    """The zone times are shown in now: the one `shown_in` set, else UTC."""
    return _shown.get() or UTC_ZONE


@contextmanager
def shown_in(zone: ZoneInfo | None) -> Iterator[ZoneInfo]:
    """Show times in `zone` (None: UTC) inside the block."""
    token = _shown.set(zone or UTC_ZONE)
    try:
        yield zone or UTC_ZONE
    finally:
        _shown.reset(token)


def _instant(value: datetime | str) -> datetime:
    """An aware datetime: a stored time without tzinfo is UTC (SQLite drops it); a string is ISO 8601."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local(value: datetime | str, zone: ZoneInfo | None = None) -> datetime:
    """`value` on the clock of `zone` (default: the zone shown now)."""
    return _instant(value).astimezone(zone or current_zone())


def zone_label(moment: datetime) -> str:
    """What a local time's zone is called then: "CET", "EST", "UTC"; the IANA name where zoneinfo
    only has an offset ("+03" → "Europe/Istanbul")."""
    abbreviation = moment.tzname() or ""
    key = getattr(moment.tzinfo, "key", None)
    if key and (not abbreviation or _BARE_OFFSET.match(abbreviation)):
        return str(key)
    return abbreviation or "UTC"


def offset_label(zone: ZoneInfo, at: datetime | None = None) -> str:
    """How far `zone` is from UTC at `at` (default now): "UTC+01:00"."""
    offset = (at or datetime.now(UTC)).astimezone(zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def iso_instant(value: datetime | str | None) -> str:
    """The UTC instant in ISO 8601 ("2026-12-07T13:05:00Z"), for <time datetime> and payloads."""
    if not value:
        return ""
    return _instant(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parsed(value: date | str) -> date | str:
    """An ISO string as its date or datetime; any other string is a time already written out (an email
    queued before its times travelled as instants), kept as it is."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        return value


def format_datetime(value: datetime | str | None, fmt: str = "%d %b %Y, %H:%M", zone: ZoneInfo | None = None) -> str:
    """The time in `zone` (default: the zone shown now), the zone named: "07 Dec 2026, 14:05 CET"."""
    moment = _parsed(value) if value else None
    if not isinstance(moment, datetime):
        return moment if isinstance(moment, str) else ""
    moment = local(moment, zone)
    return f"{moment.strftime(fmt)} {zone_label(moment)}"


def format_date(value: date | str | None, fmt: str = "%d %b %Y", zone: ZoneInfo | None = None) -> str:
    """A date as it is; a date-time as the day it is in `zone` (default: the zone shown now): "07 Dec 2026"."""
    day = _parsed(value) if value else None
    if isinstance(day, datetime):
        day = local(day, zone).date()
    if isinstance(day, date):
        return day.strftime(fmt)
    return day or ""


def format_timeago(value: datetime | None, now: datetime | None = None, zone: ZoneInfo | None = None) -> str:
    """Relative time: "just now", "5 minutes ago", "yesterday", "3 days ago", then the date (in `zone`)."""
    if not value:
        return ""
    value = _instant(value)
    now = now or datetime.now(UTC)
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size, limit in (("minute", 60, 60), ("hour", 3600, 24)):
        n = int(seconds // size)
        if n < limit:
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    day, today = local(value, zone), local(now, zone)
    return day.strftime("%-d %b" if day.year == today.year else "%-d %b %Y")
