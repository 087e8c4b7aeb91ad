"""The signed-in user's own account: profile, phone, sessions, password (/account)."""

from typing import cast

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.extensions import login_manager

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return cast(ResponseReturnValue, login_manager.unauthorized())
    return None


from app.account import api_tokens, confirm, passkeys, privacy, routes, security  # noqa: E402,F401
