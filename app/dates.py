"""How a date or a time reads: one home for the formats pages, emails and notices share."""

from __future__ import annotations

from datetime import UTC, date, datetime


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    return value.strftime(fmt) if value else ""


def format_date(value: date | None, fmt: str = "%d %b %Y") -> str:
    return value.strftime(fmt) if value else ""


def format_timeago(value: datetime | None, now: datetime | None = None) -> str:
    """Relative time: "just now", "5 minutes ago", "yesterday", "3 days ago", then the date."""
    if not value:
        return ""
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
    return value.strftime("%-d %b" if value.year == now.year else "%-d %b %Y")
