"""Roles and permissions: the defaults, seeded by migration and by `seed_reference_data`.

Views check permissions (`user.can("billing.refund")`), never role names.
"""

from __future__ import annotations

import json
import logging

import redis
import sqlalchemy as sa
from flask import g, has_app_context

from app.extensions import db
from app.redis_client import get_redis
from app.seeds import seeder

log = logging.getLogger(__name__)
CACHE_KEY = "rbac:role:{}"
CACHE_SECONDS = 300

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
    "support": (
        "Helps customers; read-only on money and roles",
        ["admin.access", "users.view", "subscriptions.view", "billing.view", "audit.view"],
    ),
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
            db.session.add(
                Role(name=name, description=description, permissions=[existing[p] for p in permission_names])
            )
    db.session.flush()


def role_named(name: str):
    from app.models.user import Role

    return db.session.scalar(sa.select(Role).where(Role.name == name))


def permissions_of_role(role_id: int) -> frozenset[str]:
    """A role's permission names: per request from `g`, else Redis (5 min), else the database."""
    memo = g.setdefault("_role_permissions", {}) if has_app_context() else {}
    if role_id in memo:
        return memo[role_id]
    key = CACHE_KEY.format(role_id)
    names = None
    try:
        cached = get_redis().get(key)
        names = frozenset(json.loads(cached)) if cached is not None else None
    except redis.RedisError as exc:
        log.warning("role cache unavailable (%s)", exc)
    if names is None:
        from app.models.user import Permission, role_permission

        names = frozenset(
            db.session.scalars(
                sa.select(Permission.name).join(role_permission).where(role_permission.c.role_id == role_id)
            )
        )
        try:
            get_redis().set(key, json.dumps(sorted(names)), ex=CACHE_SECONDS)
        except redis.RedisError:
            pass
    memo[role_id] = names
    return names


def forget_role_permissions(role_id: int) -> None:
    """Call after a role's permissions change (the caller has committed)."""
    if has_app_context():
        g.pop("_role_permissions", None)
    try:
        get_redis().delete(CACHE_KEY.format(role_id))
    except redis.RedisError as exc:
        log.error("could not clear the role cache (%s); stale for up to %ss", exc, CACHE_SECONDS)
