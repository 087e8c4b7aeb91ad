"""Admin actions on roles and users. Each audits and commits."""
from __future__ import annotations

import re
import uuid

import sqlalchemy as sa

from app import audit
from app.auth.sessions import end_other_sessions
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models.user import Permission, Role, User
from app.rbac import ROLES

ROLE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
ADMIN_ROLE = "admin"


def _permissions(names: list[str]) -> list[Permission]:
    wanted = set(names)
    found = db.session.scalars(sa.select(Permission).where(Permission.name.in_(wanted))).all()
    unknown = wanted - {p.name for p in found}
    if unknown:
        raise ValidationError(f"Unknown permission: {', '.join(sorted(unknown))}", field="permissions")
    return sorted(found, key=lambda p: p.name)


def save_role(role_id: int | None, *, name: str, description: str, permission_names: list[str],
              actor_id: uuid.UUID) -> Role:
    name = (name or "").strip().lower()
    description = (description or "").strip()
    if not ROLE_NAME_RE.match(name):
        raise ValidationError("Use 2–40 lower-case letters, digits, '-' or '_', starting with a letter", field="name")
    if len(description) > 200:
        raise ValidationError("Keep the description under 200 characters", field="description")
    permissions = _permissions(permission_names)
    role = db.session.get(Role, role_id, with_for_update=True) if role_id else None
    if role_id and role is None:
        raise NotFound("No such role.")
    clash = db.session.scalar(sa.select(Role).where(Role.name == name, Role.id != (role_id or 0)))
    if clash:
        raise ValidationError("A role with that name exists", field="name")
    if role is not None and role.name in ROLES and name != role.name:
        raise ValidationError("Built-in roles keep their names", field="name")
    if role is not None and role.name == ADMIN_ROLE and {p.name for p in permissions} != {
            p.name for p in db.session.scalars(sa.select(Permission))}:
        raise ValidationError("The admin role always has every permission", field="permissions")
    before = {"name": role.name, "permissions": sorted(role.permission_names)} if role else None
    if role is None:
        role = Role(name=name, description=description, permissions=permissions)
        db.session.add(role)
    else:
        role.name, role.description, role.permissions = name, description, permissions
    db.session.flush()
    audit.record("role.create" if before is None else "role.update", actor_id=actor_id, target_type="role",
                 target_id=str(role.id), before=before,
                 after={"name": role.name, "permissions": [p.name for p in permissions]})
    db.session.commit()
    return role


def change_user_role(user_id: uuid.UUID, role_id: int, *, actor_id: uuid.UUID) -> User:
    """Give a user another role; the last active admin keeps theirs."""
    role = db.session.get(Role, role_id)
    if role is None:
        raise ValidationError("Choose a role", field="role")
    # Lock every admin row so two concurrent demotions cannot both pass the check.
    admins = db.session.scalars(
        sa.select(User).join(Role).where(Role.name == ADMIN_ROLE, User.is_active.is_(True)).with_for_update(of=User)
    ).all()
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("No such user.")
    if user.role.name == ADMIN_ROLE and role.name != ADMIN_ROLE and [a.id for a in admins] == [user.id]:
        raise Conflict("This is the last admin: make someone else an admin first.")
    before = user.role.name
    user.role = role
    audit.record("user.role_change", actor_id=actor_id, target=user, before={"role": before},
                 after={"role": role.name})
    db.session.commit()
    return user


def set_user_active(user_id: uuid.UUID, active: bool, *, actor_id: uuid.UUID) -> User:
    """Deactivate (ends every session) or reactivate a user."""
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("No such user.")
    if not active and user.id == actor_id:
        raise Conflict("You can't deactivate your own account.")
    if not active and user.role.name == ADMIN_ROLE:
        others = db.session.scalar(
            sa.select(sa.func.count()).select_from(User).join(Role)
            .where(Role.name == ADMIN_ROLE, User.is_active.is_(True), User.id != user.id)
        )
        if not others:
            raise Conflict("This is the last admin: make someone else an admin first.")
    if user.is_active != active:
        user.is_active = active
        ended = 0 if active else end_other_sessions(user)
        audit.record("user.reactivate" if active else "user.deactivate", actor_id=actor_id, target=user,
                     after={"sessions_ended": ended})
    db.session.commit()
    return user
