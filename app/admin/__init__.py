"""Admin pages under /admin: one blueprint split over modules, one permission per page."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import (
    announcements,
    audit,
    dashboard,
    fee,
    invoices,
    jobs,
    nav,
    plans,
    products,
    roles,  # noqa: E402,F401
    subscriptions,
    transactions,
    users,
)
