"""Identity: signup, verification, login, logout, password reset, username check (/auth)."""

from flask import Blueprint
from flask_login import current_user

from app import rbac

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.app_template_global("can")
def current_user_can(permission: str) -> bool:
    """`{% if can("billing.refund") %}`: whether the signed-in user holds the permission."""
    return rbac.can(current_user, permission)


from app.auth import mfa_routes, passkey_routes, reset_routes, routes  # noqa: E402,F401
