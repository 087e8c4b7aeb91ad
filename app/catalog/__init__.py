"""The catalog: browse and search products, compare a product's plans."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/products")

from app.catalog import (
    demo,  # noqa: E402,F401  (registers the demo-catalog seeder)
    routes,  # noqa: E402,F401
)
