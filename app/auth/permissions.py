"""`permission_required("perm")`: views check permissions, never role names.

Anonymous → the login page. Signed in without `admin.access` → 404 (the admin
area doesn't reveal itself). With admin access but not this permission → 403.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from app import rbac
from app.extensions import login_manager

ADMIN_ACCESS = "admin.access"


def permission_required(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not rbac.can(current_user, ADMIN_ACCESS):
                abort(404)
            if not rbac.can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
