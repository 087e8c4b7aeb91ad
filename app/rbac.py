"""Roles and permissions: declared here once, synced to the database, decided and cached here.

Code checks permissions (`rbac.can(user, "billing.refund")`, `can("billing.refund")` in
templates), never role names. `sync` makes the database hold what is declared below; the
migration that creates the tables, `flask rbac sync` and the test harness all call it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field

import redis
import sqlalchemy as sa
from flask import g, has_app_context
from flask_login import AnonymousUserMixin

from app import audit
from app.extensions import db
from app.models.user import Permission, Role, User, role_permission
from app.redis_client import get_redis

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
    "subscriptions.manage": "Cancel, pause and resume subscriptions, extend trials",
    "billing.view": "See invoices and transactions",
    "billing.manage": "Mark invoices paid, void invoices, export",
    "billing.refund": "Refund payments (credit notes) and adjust customers' credit balances",
    "fee.manage": "Change the platform fee",
    "notifications.broadcast": "Send announcements",
    "jobs.manage": "See queues, retry or delete failed jobs",
    "audit.view": "Read the audit log",
}

ADMIN_ROLE = "admin"  # always holds every permission
ROLES: dict[str, tuple[str, list[str]]] = {
    "customer": ("Buys and uses products", []),
    "support": (
        "Helps customers; read-only on money and roles",
        ["admin.access", "users.view", "subscriptions.view", "billing.view", "audit.view"],
    ),
    ADMIN_ROLE: ("Runs the platform", sorted(PERMISSIONS)),
}
DEFAULT_ROLE = "customer"

# The tables as `sync` needs them: only the columns it writes, so a migration written today
# can still call it after later migrations add columns to the models.
_permission = sa.table(
    "permission", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("description", sa.String)
)
_role = sa.table("role", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("description", sa.String))
_grant = sa.table("role_permission", sa.column("role_id", sa.Integer), sa.column("permission_id", sa.Integer))


@dataclass(frozen=True)
class SyncReport:
    """What `sync` changed; empty when the database already held the declaration."""

    permissions_added: list[str] = field(default_factory=list)
    permissions_removed: list[str] = field(default_factory=list)
    descriptions_updated: list[str] = field(default_factory=list)
    roles_added: list[str] = field(default_factory=list)
    grants_added: list[tuple[str, str]] = field(default_factory=list)  # (role, permission)
    role_ids_changed: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.summary().values())

    def summary(self) -> dict[str, list[str]]:
        return {
            "permissions_added": self.permissions_added,
            "permissions_removed": self.permissions_removed,
            "descriptions_updated": self.descriptions_updated,
            "roles_added": self.roles_added,
            "grants_added": [f"{role}:{permission}" for role, permission in self.grants_added],
        }


def sync(connection: sa.Connection) -> SyncReport:
    """Make the database hold the declared permissions and roles; idempotent (the caller commits).

    Permissions are exactly the declared ones (an undeclared one is deleted: no code checks it),
    with their descriptions. A missing role is created with its declared permissions, and a
    permission created here is granted to the roles that declare it. What operators changed on
    the roles page stays: a role's description, a permission taken from a built-in role, custom roles.
    The admin role always holds every permission.
    """
    report = SyncReport()
    existing = {name: (pid, desc) for pid, name, desc in connection.execute(sa.select(_permission))}
    extra = sorted(set(existing) - set(PERMISSIONS))
    if extra:
        extra_ids = [existing[name][0] for name in extra]
        # Explicitly, not by the foreign key's cascade: SQLite enforces it only when asked.
        connection.execute(sa.delete(_grant).where(_grant.c.permission_id.in_(extra_ids)))
        connection.execute(sa.delete(_permission).where(_permission.c.id.in_(extra_ids)))
        report.permissions_removed.extend(extra)
    for name, description in PERMISSIONS.items():
        if name not in existing:
            connection.execute(sa.insert(_permission).values(name=name, description=description))
            report.permissions_added.append(name)
        elif existing[name][1] != description:
            connection.execute(sa.update(_permission).where(_permission.c.name == name).values(description=description))
            report.descriptions_updated.append(name)
    roles = {name: rid for rid, name in connection.execute(sa.select(_role.c.id, _role.c.name))}
    for name, (description, _) in ROLES.items():
        if name not in roles:
            connection.execute(sa.insert(_role).values(name=name, description=description))
            report.roles_added.append(name)
    permission_ids = dict(connection.execute(sa.select(_permission.c.name, _permission.c.id)).all())
    role_ids = dict(connection.execute(sa.select(_role.c.name, _role.c.id)).all())
    granted = {(r, p) for r, p in connection.execute(sa.select(_grant.c.role_id, _grant.c.permission_id))}
    for role_name, (_, declared) in ROLES.items():
        wanted = (
            sorted(PERMISSIONS)
            if role_name == ADMIN_ROLE
            else declared
            if role_name in report.roles_added
            else [p for p in declared if p in report.permissions_added]
        )
        for permission in wanted:
            row = (role_ids[role_name], permission_ids[permission])
            if row not in granted:
                connection.execute(sa.insert(_grant).values(role_id=row[0], permission_id=row[1]))
                report.grants_added.append((role_name, permission))
                if row[0] not in report.role_ids_changed:
                    report.role_ids_changed.append(row[0])
    return report


def seed_roles() -> None:
    """The reference-data seeder (app/seeds.py): `sync` in the session's transaction."""
    sync(db.session.connection())


def sync_now() -> SyncReport:
    """`flask rbac sync`: sync, audit what changed, commit, and drop the cached permissions it touched."""
    report = sync(db.session.connection())
    if report.changed:
        audit.record("rbac.synced", target_type="role", after=dict(report.summary()))
    db.session.commit()
    for role_id in report.role_ids_changed:
        forget_role_permissions(role_id)
    return report


def role_named(name: str) -> Role | None:
    return db.session.scalar(sa.select(Role).where(Role.name == name))


def default_role() -> Role:
    """The role new accounts get; its absence means the reference data was never synced."""
    role = role_named(DEFAULT_ROLE)
    if role is None:
        raise LookupError(f"no role {DEFAULT_ROLE!r}: run `flask db upgrade` or `flask rbac sync`")
    return role


def can(user: User | AnonymousUserMixin | None, permission: str) -> bool:
    """Whether `user` holds `permission`; anyone not signed in holds none. Cached: no query on most requests."""
    if not isinstance(user, User):
        return False
    return permission in permissions_of_role(user.role_id)


def holders(permission: str) -> list[User]:
    """Active, undeleted users whose role holds `permission` (whom staff alerts go to), oldest account first."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(role_permission, role_permission.c.role_id == User.role_id)
            .join(Permission, Permission.id == role_permission.c.permission_id)
            .where(Permission.name == permission, User.is_active.is_(True), User.deleted_at.is_(None))
            .order_by(User.created_at, User.id)
        )
    )


def permissions_of_role(role_id: int) -> frozenset[str]:
    """A role's permission names: per request from `g`, else Redis (5 min), else the database."""
    memo: dict[int, frozenset[str]] = g.setdefault("_role_permissions", {}) if has_app_context() else {}
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
        names = frozenset(
            db.session.scalars(
                sa.select(Permission.name).join(role_permission).where(role_permission.c.role_id == role_id)
            )
        )
        with contextlib.suppress(redis.RedisError):
            get_redis().set(key, json.dumps(sorted(names)), ex=CACHE_SECONDS)
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
