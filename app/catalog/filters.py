"""Catalog filters from the query string: whatever arrives, a sane `CatalogFilters` (and notices) comes out."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.models.catalog import BILLING_CYCLES, CYCLE_LABELS

PER_PAGE = 12
MAX_QUERY = 100
MAX_CATEGORY = 60
SORTS = {"relevance": "Best match", "name": "Name (A–Z)", "price": "Price: low to high", "newest": "Newest"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_PAGE = re.compile(r"^\s*\+?(\d{1,9})\s*$")


def clean_text(raw: object, limit: int) -> tuple[str, bool]:
    """Strip control characters (Postgres refuses NUL) and extra spaces; cut to `limit`. (text, was cut)."""
    text = " ".join(_CONTROL.sub(" ", str(raw or "")).split())
    return text[:limit].rstrip(), len(text) > limit


def parse_cycle(
    raw: object, offered: Collection[str] = BILLING_CYCLES, *, instead: str = "prices for every cycle are shown"
) -> tuple[str, str | None]:
    """A billing cycle on offer, or "" and a notice saying the value was ignored and what is shown `instead`."""
    value, _ = clean_text(raw, 40)
    value = value.lower()
    if not value or value in offered:
        return value, None
    shown = value if len(value) <= 20 else value[:20] + "…"
    return "", f"“{shown}” is not a billing cycle on offer here, so {instead}."


@dataclass(frozen=True)
class CatalogFilters:
    q: str = ""
    category: str = ""
    cycle: str = ""
    sort: str = "relevance"  # without a search: alphabetical
    page: int = 1
    notices: tuple[str, ...] = field(default=(), compare=False)

    @property
    def price_cycle(self) -> str:
        """The cycle whose prices the cards show and "price" sorts by."""
        return self.cycle or "monthly"

    @property
    def price_cycle_label(self) -> str:
        return CYCLE_LABELS[self.price_cycle]

    @property
    def narrowed(self) -> bool:
        return bool(self.q or self.category or self.cycle)

    def args(self, **changes: Any) -> dict[str, str | int]:
        """Query-string arguments for a link (defaults left out, so URLs stay short and shareable)."""
        target = replace(self, **changes)
        args = {
            "q": target.q,
            "category": target.category,
            "cycle": target.cycle,
            "sort": target.sort if target.sort != "relevance" else "",
            "page": target.page if target.page > 1 else "",
        }
        return {k: v for k, v in args.items() if v}


def parse_filters(args: Mapping[str, object]) -> CatalogFilters:
    notices: list[str] = []
    q, cut = clean_text(args.get("q"), MAX_QUERY)
    if cut:
        notices.append(f"Your search was shortened to its first {MAX_QUERY} characters.")
    category, _ = clean_text(args.get("category"), MAX_CATEGORY)
    cycle, notice = parse_cycle(args.get("cycle"))
    if notice:
        notices.append(notice)
    sort = str(args.get("sort") or "").strip().lower()
    if sort not in SORTS:
        sort = "relevance"  # unknown sorts fall back quietly
    match = _PAGE.match(str(args.get("page") or ""))
    page = max(1, int(match.group(1))) if match else 1
    return CatalogFilters(q=q, category=category, cycle=cycle, sort=sort, page=page, notices=tuple(notices))
