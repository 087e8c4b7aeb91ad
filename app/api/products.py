"""/api/v1/products: the catalog, as the catalog page searches it (app/catalog/queries.py)."""

from __future__ import annotations

import uuid
from typing import Any

from app.api import pagination, schemas
from app.api.kit import ApiBlueprint, current_token
from app.catalog import queries
from app.catalog.filters import parse_filters
from app.errors import NotFound
from app.models.catalog import Product

blp = ApiBlueprint("api_products", __name__, url_prefix="/api/v1/products", description="The catalog.")


def _prices(prices: dict[str, tuple[int, str]]) -> dict[str, dict[str, Any]]:
    return {cycle: {"amount": amount, "currency": currency} for cycle, (amount, currency) in prices.items()}


def _card(product: Product, prices: dict[uuid.UUID, dict[str, tuple[int, str]]]) -> dict[str, Any]:
    return {
        "id": product.id,
        "slug": product.slug,
        "name": product.name,
        "tagline": product.tagline,
        "category": product.category,
        "from_prices": _prices(prices.get(product.id, {})),
    }


@blp.route("", methods=["GET"])
@blp.auth("read")
@blp.arguments(schemas.ProductQuery, location="query")
@blp.response(200, schemas.ProductPageOut)
def list_products(args: dict[str, Any]) -> dict[str, Any]:
    """Search and filter the catalog; pages by `next_cursor`, in a stable order (rank or name, then id)."""
    filters = parse_filters({k: args[k] for k in ("q", "category", "cycle", "sort")})
    position = pagination.decode(args["cursor"])
    offset = position if isinstance(position, int) and position >= 0 else 0
    page = queries.product_slice(filters, offset=offset, limit=args["limit"])
    cursor = pagination.encode(offset + args["limit"]) if page.more else None
    return {
        "items": [_card(p, page.prices) for p in page.products],
        "total": page.total,
        "next_cursor": cursor,
        "next": pagination.next_link(cursor),
    }


@blp.route("/<uuid:product_id>", methods=["GET"])
@blp.auth("read")
@blp.errors(404)
@blp.response(200, schemas.ProductDetailOut)
def get_product(product_id: uuid.UUID) -> dict[str, Any]:
    """One product on sale, with its plans and your live subscription to it, if any."""
    found = queries.product_by_id(product_id, current_token().user_id)
    if found is None:
        raise NotFound("There is no product on sale with that id.")
    product = found.product
    prices = queries.from_prices([product.id])
    return {
        **_card(product, prices),
        "description": product.description,
        "plans": [
            {
                "id": plan.id,
                "name": plan.name,
                "billing_cycle": plan.billing_cycle,
                "price": plan.price,
                "currency": plan.currency,
                "discount_percent": float(plan.discount_percent),
                "trial_days": plan.trial_days,
            }
            for plan in product.plans
        ],
        "current_subscription_id": found.current.subscription_id if found.current else None,
    }
