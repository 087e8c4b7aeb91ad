"""The catalog: browse and search products, compare a product's plans."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/products")

# After `bp`, which they register on: the pages, and the demo-catalog seeder.
from app.catalog import demo, routes  # noqa: E402, F401
