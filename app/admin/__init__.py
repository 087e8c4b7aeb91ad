"""Admin pages under /admin: one blueprint split over modules, one permission per page."""

from importlib import import_module

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Each page module adds its routes to `bp` as it is imported.
PAGES = (
    "announcements",
    "audit",
    "dashboard",
    "fee",
    "invoices",
    "jobs",
    "nav",
    "plans",
    "products",
    "roles",
    "subscriptions",
    "transactions",
    "users",
)
for _page in PAGES:
    import_module(f"app.admin.{_page}")
