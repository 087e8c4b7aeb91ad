"""Who may open an admin page.

Signed out → the login page. Signed in without `admin.access` → 404 (the admin
area does not exist for customers). With admin access but not the page's
permission → 403.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user


def require(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if "auth.login" in current_app.view_functions:
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                abort(404)
            if not current_user.can("admin.access"):
                abort(404)
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator
