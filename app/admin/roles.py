"""Roles: the list with member counts, and the form that creates or edits one."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from app.admin import bp, queries, services
from app.admin.forms import RoleForm
from app.admin.staff import staff_id
from app.auth import stepup
from app.auth.permissions import permission_required
from app.models.user import Role
from app.rbac import ROLES
from app.web import render_form, see_other, service_errors


@bp.get("/roles")
@permission_required("roles.manage")
def roles_list() -> ResponseReturnValue:
    return render_template(
        "admin/roles.html", roles=queries.roles_by_id(), counts=queries.members_per_role(), builtin=ROLES
    )


def _form(role: Role | None) -> RoleForm:
    """The form as posted, or (on GET) filled in from the role."""
    if request.method == "POST" or role is None:
        form = RoleForm()
    else:
        form = RoleForm(
            data={"name": role.name, "description": role.description, "permissions": sorted(role.permission_names)}
        )
    form.permissions.choices = [SelectChoice(p.name, p.name) for p in queries.permissions()]
    return form


def _page(role: Role | None, form: RoleForm) -> ResponseReturnValue:
    details = {p.name: p.description for p in queries.permissions()}
    return render_form("admin/role_form.html", form, role=role, builtin=ROLES, details=details)


@bp.get("/roles/new")
@permission_required("roles.manage")
@stepup.required
def roles_new() -> ResponseReturnValue:
    return _page(None, _form(None))


@bp.get("/roles/<int:role_id>")
@permission_required("roles.manage")
@stepup.required
def roles_edit(role_id: int) -> ResponseReturnValue:
    role = queries.role(role_id)
    return _page(role, _form(role))


@bp.post("/roles/new", defaults={"role_id": None})
@bp.post("/roles/<int:role_id>")
@permission_required("roles.manage")
@stepup.required
def roles_save(role_id: int | None) -> ResponseReturnValue:
    role = queries.role(role_id) if role_id else None
    form = _form(role)
    if form.validate_on_submit():
        with service_errors(form):
            saved = services.save_role(role_id, actor_id=staff_id(), **form.command())
            return see_other("admin.roles_list", message=f"Role “{saved.name}” saved.")
    return _page(role, form)
