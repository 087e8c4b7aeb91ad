"""Identity: signup, verification, login, logout, password reset, username check (/auth)."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from app.auth import (  # noqa: E402,F401
    demo,  # noqa: E402,F401  (registers the demo-accounts seeder)
    reset_routes,
    routes,
)
