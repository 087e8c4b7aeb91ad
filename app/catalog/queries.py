"""Read side of the catalog: a constant number of SQL statements whatever the catalog's size.

The catalog page costs the page of products (with the total), one aggregate for
their "from" prices and the category counts (an HTMX update too: they follow the search);
a product page costs the product and its plans.
"""

from __future__ import annotations

import math
import re
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import defer, selectinload

from app.catalog.filters import PER_PAGE, CatalogFilters
from app.extensions import db
from app.models.billing import LIVE_STATUSES, Subscription
from app.models.catalog import Plan, Product, search_document

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
MAX_TERMS = 8
NO_FILTERS = CatalogFilters()
_Query = TypeVar("_Query", bound="sa.Select[*tuple[Any, ...]]")


def final_price_sql() -> sa.ColumnElement[Any]:
    """Plan.final_price in SQL: price − round_half_up(price × discount / 100), in integer arithmetic.

    The discount goes to whole hundredths first so SQLite's floats cannot tip a half.
    """
    hundredths = sa.cast(sa.func.round(Plan.discount_percent * 100), sa.BigInteger)
    return Plan.price - (Plan.price * hundredths + 5000) // 10000


def _has_active_plan(cycle: str | None = None) -> sa.Exists:
    query = sa.select(Plan.id).where(Plan.product_id == Product.id, Plan.is_active.is_(True))
    if cycle:
        query = query.where(Plan.billing_cycle == cycle)
    return query.exists()


def _search(q: str) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """(condition, rank) for a search: Postgres full text, or a plain case-insensitive match on SQLite."""
    if db.engine.dialect.name == "postgresql":
        document = search_document()
        query: sa.ColumnElement[Any] = sa.func.websearch_to_tsquery(sa.text("'english'"), q)
        prefix = _prefix_query(q)
        if prefix is not None:
            query = query.op("||")(prefix)
        return document.op("@@")(query), sa.func.ts_rank(document, query)
    # Every word must appear somewhere; the same weights as on Postgres order the matches.
    weights = ((Product.name, 3), (Product.tagline, 2), (Product.category, 2), (Product.description, 1))
    terms = q.lower().split()[:MAX_TERMS]
    found = [
        [(sa.func.lower(column).contains(term, autoescape=True), weight) for column, weight in weights]
        for term in terms
    ]
    condition = sa.and_(*(sa.or_(*(match for match, _ in term)) for term in found))
    rank = sum((sa.case(*term, else_=0) for term in found), sa.literal(0))
    return condition, rank


def _prefix_query(q: str) -> sa.ColumnElement[Any] | None:
    """While typing, the last word is usually unfinished ("analy"): match it as a prefix too.

    Stemmed ("pipelines" → pipelin:*) or as typed ("analy" → analy:*, which stemming would turn
    into anali). Left out when the search uses web-search syntax (quotes, -word, or).
    """
    words = re.findall(r"\w+", q)[:MAX_TERMS]
    if not words or re.search(r'["-]|\bor\b', q, re.IGNORECASE):
        return None
    last = words[-1] + ":*"
    prefix: sa.ColumnElement[Any] = sa.func.to_tsquery(sa.text("'english'"), last).op("||")(
        sa.func.to_tsquery(sa.text("'simple'"), last)
    )
    if len(words) > 1:
        prefix = sa.func.websearch_to_tsquery(sa.text("'english'"), " ".join(words[:-1])).op("&&")(prefix)
    return prefix


@dataclass
class CatalogPage:
    filters: CatalogFilters
    products: list[Product]
    prices: dict[uuid.UUID, dict[str, tuple[int, str]]]
    total: int
    page: int
    pages: int
    per_page: int = PER_PAGE
    notices: list[str] = field(default_factory=list)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * self.per_page, self.total)

    def page_numbers(self) -> list[int | None]:
        """1 … 4 5 [6] 7 8 … 20: None marks a gap."""
        keep = {1, self.pages, *range(self.page - 2, self.page + 3)}
        numbers: list[int | None] = []
        for n in range(1, self.pages + 1):
            if n in keep:
                numbers.append(n)
            elif numbers and numbers[-1] is not None:
                numbers.append(None)
        return numbers


def _listing(filters: CatalogFilters) -> tuple[sa.Select[Product, int], list[sa.ColumnElement[bool]]]:
    """The catalog's statement for `filters` (products with the window total, in their stable order) and its WHERE."""
    conditions = [Product.is_active.is_(True), _has_active_plan(filters.cycle)]
    if filters.category:
        conditions.append(Product.category == filters.category)
    rank: sa.ColumnElement[Any] | None = None
    if filters.q:
        condition, rank = _search(filters.q)
        conditions.append(condition)
    query = _ordered(
        sa.select(Product, sa.func.count().over().label("total"))
        .where(*conditions)
        .options(defer(Product.description, raiseload=True), defer(Product.product_schema, raiseload=True)),
        filters,
        rank,
    )
    return query, conditions


@dataclass
class ProductSlice:
    """`limit` products from `offset` on, in the catalog's order (the API's cursor pages)."""

    products: list[Product]
    prices: dict[uuid.UUID, dict[str, tuple[int, str]]]
    total: int
    more: bool


def product_slice(filters: CatalogFilters, *, offset: int, limit: int) -> ProductSlice:
    query, _ = _listing(filters)
    rows = db.session.execute(query.limit(limit + 1).offset(offset)).all()
    products = [row.Product for row in rows[:limit]]
    total = rows[0].total if rows else 0
    return ProductSlice(products, from_prices([p.id for p in products]), total, more=len(rows) > limit)


def search_products(filters: CatalogFilters) -> CatalogPage:
    query, conditions = _listing(filters)

    def fetch(page: int) -> Sequence[sa.Row[Product, int]]:
        return db.session.execute(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()

    # The total rides along with the page (a window count), so the usual page costs one statement.
    rows, page, notices = fetch(filters.page), filters.page, list(filters.notices)
    if not rows and page > 1:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Product).where(*conditions)) or 0
        page = max(1, math.ceil(total / PER_PAGE))
        if total:
            notices.append(f"There are only {page} page{'s' if page != 1 else ''} of results; here is the last one.")
            rows = fetch(page)
    total = rows[0].total if rows else 0
    pages = max(1, math.ceil(total / PER_PAGE))
    products = [row.Product for row in rows]
    return CatalogPage(
        filters=filters,
        products=products,
        prices=from_prices([p.id for p in products]),
        total=total,
        page=page,
        pages=pages,
        notices=notices,
    )


def _ordered(query: _Query, filters: CatalogFilters, rank: sa.ColumnElement[Any] | None) -> _Query:
    if filters.sort == "relevance" and rank is not None:
        return query.order_by(rank.desc(), Product.name, Product.id)
    if filters.sort == "newest":
        return query.order_by(Product.created_at.desc(), Product.name, Product.id)
    if filters.sort == "price":
        cheapest = (
            sa.select(Plan.product_id, sa.func.min(final_price_sql()).label("amount"))
            .where(Plan.is_active.is_(True), Plan.billing_cycle == filters.price_cycle)
            .group_by(Plan.product_id)
            .subquery()
        )
        return query.outerjoin(cheapest, cheapest.c.product_id == Product.id).order_by(
            cheapest.c.amount.asc().nulls_last(), Product.name, Product.id
        )
    return query.order_by(Product.name, Product.id)


def from_prices(product_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, tuple[int, str]]]:
    """{product id: {cycle: (lowest final price, currency)}} for the given products, in one aggregate query."""
    if not product_ids:
        return {}
    amount = sa.func.min(final_price_sql())
    rows = db.session.execute(
        sa.select(Plan.product_id, Plan.billing_cycle, Plan.currency, amount)
        .where(Plan.product_id.in_(product_ids), Plan.is_active.is_(True))
        .group_by(Plan.product_id, Plan.billing_cycle, Plan.currency)
        .order_by(Plan.product_id, Plan.billing_cycle, amount)
    )
    prices: dict[uuid.UUID, dict[str, tuple[int, str]]] = {}
    for product_id, cycle, currency, lowest in rows:
        prices.setdefault(product_id, {}).setdefault(cycle, (int(lowest), currency))
    return prices


@dataclass(frozen=True)
class CategoryCount:
    name: str
    count: int

    @property
    def dom_id(self) -> str:
        """A stable element id for the count (category names may hold any character)."""
        return f"category-count-{zlib.crc32(self.name.encode()):08x}"


def category_counts(filters: CatalogFilters = NO_FILTERS) -> list[CategoryCount]:
    """Every category on sale, with how many of its products match the search and cycle: what picking it would show.

    The category itself is left out of the filter (the list is how you change it). One statement.
    """
    matching: list[sa.ColumnElement[Any]] = [_has_active_plan(filters.cycle)] if filters.cycle else []
    if filters.q:
        matching.append(_search(filters.q)[0])
    query = sa.select(Product.category, sa.func.count()).where(Product.is_active.is_(True), _has_active_plan())
    if matching:
        # The matches in a subquery, so the search uses its index; every category still gets its row (0 or more).
        hits = sa.select(Product.id).where(*matching).subquery()
        query = (
            sa.select(Product.category, sa.func.count(hits.c.id))
            .outerjoin(hits, hits.c.id == Product.id)
            .where(Product.is_active.is_(True), _has_active_plan())
        )
    rows = db.session.execute(query.group_by(Product.category).order_by(Product.category))
    return [CategoryCount(category, int(n)) for category, n in rows]


def featured_products(limit: int = 4) -> tuple[list[Product], dict[uuid.UUID, dict[str, tuple[int, str]]]]:
    """The first product of each of the first `limit` categories: a varied shelf for the home page."""
    first_in_category = (
        sa.func.row_number().over(partition_by=Product.category, order_by=(Product.created_at, Product.name)).label("n")
    )
    ranked = sa.select(Product.id, first_in_category).where(Product.is_active.is_(True), _has_active_plan()).subquery()
    products = list(
        db.session.scalars(
            sa.select(Product)
            .join(ranked, ranked.c.id == Product.id)
            .where(ranked.c.n == 1)
            .options(defer(Product.description, raiseload=True), defer(Product.product_schema, raiseload=True))
            .order_by(Product.category)
            .limit(limit)
        )
    )
    return products, from_prices([p.id for p in products])


@dataclass(frozen=True)
class CurrentPlan:
    """What a signed-in visitor already has of a product: their live subscription, for the product page."""

    subscription_id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str


@dataclass(frozen=True)
class ProductPage:
    product: Product
    current: CurrentPlan | None  # the visitor's live subscription (trial, active, past due), if any


def product_by_slug(slug: str, visitor_id: uuid.UUID | None = None) -> ProductPage | None:
    """An active product with its active plans and the visitor's live subscription to it (two statements), or None.

    A customer has at most one live subscription to a product (uq_subscription_one_live), so the outer join
    adds no rows.
    """
    if not SLUG_RE.match(slug or ""):
        return None
    live = sa.and_(
        Subscription.product_id == Product.id,
        Subscription.user_id == visitor_id,
        Subscription.status.in_(LIVE_STATUSES),
    )
    row = db.session.execute(
        sa.select(Product, Subscription.id, Subscription.plan_id)
        .outerjoin(Subscription, live if visitor_id is not None else sa.false())
        .where(Product.slug == slug, Product.is_active.is_(True))
        .options(selectinload(Product.plans.and_(Plan.is_active.is_(True))))
    ).first()
    if row is None:
        return None
    product, subscription_id, plan_id = row
    if subscription_id is None:
        return ProductPage(product, None)
    # The plan may since have been taken off sale: then it is not in product.plans, and no column is marked.
    name = next((p.name for p in product.plans if p.id == plan_id), None) or _plan_name(plan_id)
    return ProductPage(product, CurrentPlan(subscription_id=subscription_id, plan_id=plan_id, plan_name=name))


def product_by_id(product_id: uuid.UUID, visitor_id: uuid.UUID | None = None) -> ProductPage | None:
    """`product_by_slug` for the product with this id."""
    slug = db.session.scalar(sa.select(Product.slug).where(Product.id == product_id))
    return product_by_slug(slug, visitor_id) if slug else None


def _plan_name(plan_id: uuid.UUID) -> str:
    return db.session.scalar(sa.select(Plan.name).where(Plan.id == plan_id)) or "a plan"
