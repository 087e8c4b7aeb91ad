"""/api/v1/roles and /api/v1/users/{id}/role: the admin's role pages over HTTP.

Both need a token with the `admin` scope (only staff get one) *and* the permissions the pages check
(app/auth/permissions.py): without `admin.access` the admin area is a 404, without `roles.manage` a 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flask import abort

from app import rbac
from app.admin import queries, services
from app.api import billing_schemas as bs
from app.api.kit import ApiBlueprint, current_token
from app.auth.permissions import ADMIN_ACCESS
from app.models.user import Role

blp = ApiBlueprint("api_admin", __name__, url_prefix="/api/v1", description="Administration (staff only).")

ROLES_MANAGE = "roles.manage"  # what the roles pages and the user page's role form require


def _require(permission: str) -> None:
    user = current_token().user
    if not rbac.can(user, ADMIN_ACCESS):
        abort(404)
    if not rbac.can(user, permission):
        abort(403)


@blp.route("/roles", methods=["GET"])
@blp.auth("admin")
@blp.errors(404)
@blp.response(200, bs.RoleOut(many=True))
def list_roles() -> Sequence[Role]:
    """The roles and their permissions (`roles.manage`)."""
    _require(ROLES_MANAGE)
    return queries.roles()


@blp.route("/users/<uuid:user_id>/role", methods=["POST"])
@blp.auth("admin")
@blp.arguments(bs.RoleIn)
@blp.errors(404)
@blp.response(200, bs.UserRoleOut)
def change_role(data: dict[str, Any], user_id: uuid.UUID) -> dict[str, Any]:
    """Give a user another role (`roles.manage`; audited as on the user's admin page)."""
    _require(ROLES_MANAGE)
    user, role = services.change_user_role(user_id, data["role_id"], actor_id=current_token().user_id)
    return {"user_id": user.id, "username": user.username, "role": role.name}
