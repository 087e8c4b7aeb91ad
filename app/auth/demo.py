"""Demo accounts for `flask seed-demo` (and so `make run`): a customer and an admin, development only.

Their passwords are printed and public, so no other environment ever gets them.
"""

from __future__ import annotations

from flask import current_app

from app.auth.services import create_verified_user, user_by_email
from app.links import external_url

# (role, email, username, password)
DEMO_USERS = (
    ("customer", "customer@example.com", "demo_customer", "demo-customer-pass"),
    ("admin", "admin@example.com", "demo_admin", "demo-admin-pass"),
)


def seed_demo_users() -> str:
    """Add the demo customer and admin when missing; say how to sign in as each."""
    if current_app.config["APP_ENV"] != "development":
        return "demo users: none (development only)"
    lines = []
    for role, email, username, password in DEMO_USERS:
        state = "already there"
        if user_by_email(email) is None:
            create_verified_user(email=email, username=username, password=password, role=role)
            state = "added"
        lines.append(f"demo {role}: {email}, password {password} ({state})")
    lines.append(f"sign in at {external_url('auth.login')}")
    return "\n".join(lines)
