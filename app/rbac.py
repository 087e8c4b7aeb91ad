"""Roles and permissions: the defaults, seeded by migration and by `seed_reference_data`.

Views check permissions (`user.can("billing.refund")`), never role names.
"""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.seeds import seeder

PERMISSIONS = {
    "admin.access": "Open the admin area",
    "users.view": "See users, their sessions, subscriptions and invoices",
    "users.manage": "Deactivate, reactivate, resend verification, send reset links",
    "roles.manage": "Create and edit roles; change a user's role",
    "catalog.manage": "Create, edit and retire products and plans",
    "subscriptions.view": "See subscriptions",
    "subscriptions.manage": "Cancel subscriptions, extend trials",
    "billing.view": "See invoices and transactions",
    "billing.manage": "Mark invoices paid, void invoices, export",
    "billing.refund": "Refund payments (credit notes)",
    "fee.manage": "Change the platform fee",
    "notifications.broadcast": "Send announcements",
    "jobs.manage": "See queues, retry or delete failed jobs",
    "audit.view": "Read the audit log",
}

ROLES = {
    "customer": ("Buys and uses products", []),
    "support": ("Helps customers; read-only on money and roles",
                ["admin.access", "users.view", "subscriptions.view", "billing.view", "audit.view"]),
    "admin": ("Runs the platform", sorted(PERMISSIONS)),
}
DEFAULT_ROLE = "customer"


@seeder
def seed_roles() -> None:
    from app.models.user import Permission, Role

    existing = {p.name: p for p in db.session.scalars(sa.select(Permission))}
    for name, description in PERMISSIONS.items():
        if name not in existing:
            existing[name] = Permission(name=name, description=description)
            db.session.add(existing[name])
    roles = {r.name: r for r in db.session.scalars(sa.select(Role))}
    for name, (description, permission_names) in ROLES.items():
        if name not in roles:
            db.session.add(Role(name=name, description=description,
                                permissions=[existing[p] for p in permission_names]))
    db.session.flush()


def role_named(name: str):
    from app.models.user import Role

    return db.session.scalar(sa.select(Role).where(Role.name == name))
