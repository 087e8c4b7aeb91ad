"""Admin pages under /admin: one blueprint split over modules, one permission per page."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import audit, dashboard, fee, jobs, nav, roles  # noqa: E402,F401
