import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp, services
from app.auth.permissions import permission_required
from app.errors import ValidationError
from app.extensions import db
from app.models.user import Permission, Role, User
from app.rbac import ROLES


@bp.get("/roles")
@permission_required("roles.manage")
def roles_list():
    counts = dict(db.session.execute(sa.select(User.role_id, sa.func.count()).group_by(User.role_id)).all())
    roles = db.session.scalars(sa.select(Role).order_by(Role.id)).all()
    return render_template("admin/roles.html", roles=roles, counts=counts, builtin=ROLES)


def _form(role: Role | None, errors: dict | None = None, form: dict | None = None, status: int = 200):
    permissions = db.session.scalars(sa.select(Permission).order_by(Permission.name)).all()
    chosen = set(form["permissions"]) if form else (role.permission_names if role else set())
    return render_template(
        "admin/role_form.html",
        role=role,
        permissions=permissions,
        chosen=chosen,
        errors=errors or {},
        form=form or {},
        builtin=ROLES,
    ), status


@bp.get("/roles/new")
@permission_required("roles.manage")
def roles_new():
    return _form(None)


@bp.get("/roles/<int:role_id>")
@permission_required("roles.manage")
def roles_edit(role_id: int):
    return _form(db.get_or_404(Role, role_id))


@bp.post("/roles/new", defaults={"role_id": None})
@bp.post("/roles/<int:role_id>")
@permission_required("roles.manage")
def roles_save(role_id: int | None):
    role = db.get_or_404(Role, role_id) if role_id else None
    form = {
        "name": request.form.get("name", ""),
        "description": request.form.get("description", ""),
        "permissions": request.form.getlist("permissions"),
    }
    try:
        saved = services.save_role(
            role_id,
            name=form["name"],
            description=form["description"],
            permission_names=form["permissions"],
            actor_id=current_user.id,
        )
    except ValidationError as exc:
        db.session.rollback()
        return _form(role, {exc.field or "name": exc.message}, form, 400)
    flash(f"Role “{saved.name}” saved.", "success")
    return redirect(url_for("admin.roles_list"), 303)
