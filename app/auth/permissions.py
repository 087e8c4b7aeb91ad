"""`permission_required("perm")`: views check permissions, never role names.

Anonymous → the login page. Signed in without `admin.access` → 404 (the admin
area doesn't reveal itself). With admin access but not this permission → 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from flask import abort
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.extensions import login_manager

ADMIN_ACCESS = "admin.access"


P = ParamSpec("P")
View = Callable[P, ResponseReturnValue]


def permission_required(permission: str) -> Callable[[View[P]], View[P]]:
    def decorator(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                response: ResponseReturnValue = login_manager.unauthorized()
                return response
            if not current_user.can(ADMIN_ACCESS):
                abort(404)
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
