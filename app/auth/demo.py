"""Demo accounts for `flask seed-demo` (and so `make run`): a customer and an admin, development only.

Their passwords are printed and public, so no other environment ever gets them.
"""

from __future__ import annotations

from flask import current_app

from app.auth import mfa_keys
from app.auth.services import create_verified_user, user_by_email
from app.extensions import db
from app.links import external_url
from app.models.mfa import TotpFactor

# (role, email, username, password)
DEMO_USERS = (
    ("customer", "customer@example.com", "demo_customer", "demo-customer-pass"),
    ("admin", "admin@example.com", "demo_admin", "demo-admin-pass"),
)
# Staff sign in with a second factor: the demo admin's authenticator key is as public as its password.
DEMO_TOTP_KEY = "DEMOADMINDEMOADMINDEMOADMINDEMOA"


def seed_demo_users() -> str:
    """Add the demo customer and admin when missing; say how to sign in as each."""
    if current_app.config["APP_ENV"] != "development":
        return "demo users: none (development only)"
    lines = []
    for role, email, username, password in DEMO_USERS:
        state = "already there"
        if user_by_email(email) is None:
            user = create_verified_user(email=email, username=username, password=password, role=role)
            if role == "admin":
                db.session.add(TotpFactor(user_id=user.id, secret_encrypted=mfa_keys.encrypt(DEMO_TOTP_KEY)))
                db.session.commit()
            state = "added"
        lines.append(f"demo {role}: {email}, password {password} ({state})")
    lines.append(f"demo admin authenticator key: {DEMO_TOTP_KEY} (add it to an authenticator app for the second step)")
    lines.append(f"sign in at {external_url('auth.login')}")
    return "\n".join(lines)
