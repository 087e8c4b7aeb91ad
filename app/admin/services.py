"""Admin actions on roles (user actions live in app/auth/services.py). Each audits and commits."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa

from app import audit
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models.user import Permission, Role
from app.rbac import ROLES, forget_role_permissions

ROLE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
ADMIN_ROLE = "admin"


def _permissions(names: list[str]) -> list[Permission]:
    wanted = set(names)
    found = db.session.scalars(sa.select(Permission).where(Permission.name.in_(wanted))).all()
    unknown = wanted - {p.name for p in found}
    if unknown:
        raise ValidationError({"permissions": f"Unknown permission: {', '.join(sorted(unknown))}"})
    return sorted(found, key=lambda p: p.name)


def save_role(
    role_id: int | None, *, name: str, description: str, permission_names: list[str], actor_id: uuid.UUID
) -> Role:
    name = (name or "").strip().lower()
    description = (description or "").strip()
    if not ROLE_NAME_RE.match(name):
        raise ValidationError({"name": "Use 2–40 lower-case letters, digits, '-' or '_', starting with a letter"})
    if len(description) > 200:
        raise ValidationError({"description": "Keep the description under 200 characters"})
    permissions = _permissions(permission_names)
    role = db.session.get(Role, role_id, with_for_update=True) if role_id else None
    if role_id and role is None:
        raise NotFound("No such role.")
    clash = db.session.scalar(sa.select(Role).where(Role.name == name, Role.id != (role_id or 0)))
    if clash:
        raise ValidationError({"name": "A role with that name exists"})
    if role is not None and role.name in ROLES and name != role.name:
        raise ValidationError({"name": "Built-in roles keep their names"})
    if (
        role is not None
        and role.name == ADMIN_ROLE
        and {p.name for p in permissions} != {p.name for p in db.session.scalars(sa.select(Permission))}
    ):
        raise ValidationError({"permissions": "The admin role always has every permission"})
    before = {"name": role.name, "permissions": sorted(role.permission_names)} if role else None
    if role is None:
        role = Role(name=name, description=description, permissions=permissions)
        db.session.add(role)
    else:
        role.name, role.description, role.permissions = name, description, permissions
    db.session.flush()
    audit.record(
        "role.created" if before is None else "role.updated",
        actor_id=actor_id,
        target_type="role",
        target_id=str(role.id),
        before=before,
        after={"name": role.name, "permissions": [p.name for p in permissions]},
    )
    db.session.commit()
    forget_role_permissions(role.id)
    return role
