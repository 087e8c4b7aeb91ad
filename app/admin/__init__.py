"""Admin pages under /admin: one blueprint split over modules, one permission per page."""

from importlib import import_module

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.auth import mfa

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _staff_use_a_second_factor() -> ResponseReturnValue | None:
    """No /admin page opens for staff without a second factor: they are sent to set one up (ASVS V6.3.2)."""
    user = current_user._get_current_object()
    if current_user.is_authenticated and mfa.is_staff(user) and not mfa.has_second_factor(user):
        return redirect(url_for("account.totp_enroll", staff=1), 303)
    return None


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
    "reconciliation",
    "roles",
    "subscriptions",
    "transactions",
    "users",
)
for _page in PAGES:
    import_module(f"app.admin.{_page}")
