"""Catalog pages: /products/ (search, filters, sorting, pages) and /products/<slug> (plans compared)."""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

from flask import current_app, url_for
from flask.sansio.blueprints import BlueprintSetupState
from flask_login import current_user

from app.catalog import bp, comparison, queries
from app.catalog.fees import current_percent
from app.catalog.filters import SORTS, parse_cycle
from app.catalog.forms import CatalogQueryForm
from app.catalog.schema import fields as schema_fields
from app.errors import NotFound
from app.models.catalog import CYCLE_LABELS, Product
from app.templating import render_page

MONOGRAM_COLOURS = 6


@bp.get("/")
def index() -> str:
    filters = CatalogQueryForm.read().filters()
    results = queries.search_products(filters)
    # Counted when the template asks: once per page, whether full or an HTMX fragment (which sends them out of band).
    return render_page(
        "catalog/index.html",
        block="results",
        filters=filters,
        results=results,
        categories=functools.partial(queries.category_counts, filters),
    )


@bp.get("/<slug>")
def detail(slug: str) -> str:
    visitor = current_user.id if current_user.is_authenticated else None
    page = queries.product_by_slug(slug, visitor)
    fallback = comparison.default_cycle(page.product.plans) if page is not None else None
    if page is None or fallback is None:  # no such product, or none of its plans on offer
        raise NotFound("We couldn't find that product. It may have been retired, or the link may be mistyped.")
    product = page.product
    offered = comparison.offered_cycles(product.plans)
    cycle, notice = parse_cycle(
        CatalogQueryForm.read().cycle.data, offered, instead=f"{CYCLE_LABELS[fallback].lower()} prices are shown"
    )
    side_by_side = comparison.compare(product.plans, cycle or fallback)
    return render_page(
        "catalog/detail.html",
        block="pricing",
        product=product,
        comparison=side_by_side,
        notice=notice,
        fee_percent=current_percent(),
        checkout_fields=schema_fields(product.product_schema),
        current=page.current,
    )


@bp.app_template_global()
def product_icon(product: Product) -> str | None:
    """The product's SVG icon, if it names one we ship; else the template draws a monogram."""
    icons: frozenset[str] | None = current_app.extensions.get("product_icons")
    if icons is None:
        icons = current_app.extensions["product_icons"] = _shipped_icons()
    return url_for("static", filename=f"img/products/{product.icon}.svg") if product.icon in icons else None


def _shipped_icons() -> frozenset[str]:
    folder = Path(current_app.static_folder or ".") / "img" / "products"
    return frozenset(p.stem for p in folder.glob("*.svg"))


@bp.app_template_global()
def monogram(name: str) -> tuple[str, int]:
    """Initials and a stable colour number for a product without an icon."""
    words = [w for w in str(name).split() if w[:1].isalnum()]
    initials = "".join(w[0] for w in words[:2]).upper() or "?"
    return initials, zlib.crc32(str(name).encode()) % MONOGRAM_COLOURS + 1


@bp.app_template_global()
def sign_in_url(next_url: str) -> str:
    """The login page, coming back to `next_url` afterwards."""
    return url_for("auth.login", next=next_url)


@bp.record_once
def _register_template_globals(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals.update(
        saving_percent=comparison.saving_percent,
        monthly_equivalent=comparison.monthly_equivalent,
        cycle_units=comparison.UNITS,
        cycle_labels=CYCLE_LABELS,
        sorts=SORTS,
    )
