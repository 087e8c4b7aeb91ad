"""`permission_required("perm")`: views check permissions, never role names.

Anonymous → the login page. Signed in without `admin.access` → 404 (the admin
area doesn't reveal itself). With admin access but not this permission → 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

import flask_login
from flask import abort
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app import rbac
from app.extensions import login_manager

ADMIN_ACCESS = "admin.access"
P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])
View = Callable[P, ResponseReturnValue]


def login_required(view: F) -> F:
    """Flask-Login's `login_required`, typed (Flask-Login ships no type information)."""
    wrapped: F = flask_login.login_required(view)
    return wrapped


def permission_required(permission: str) -> Callable[[View[P]], View[P]]:
    def decorator(view: View[P]) -> View[P]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                return cast(ResponseReturnValue, login_manager.unauthorized())
            if not rbac.can(current_user, ADMIN_ACCESS):
                abort(404)
            if not rbac.can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
