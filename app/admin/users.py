import uuid

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp, services
from app.admin.access import require
from app.admin.listing import arg_choice, arg_q, like_pattern, paginate
from app.errors import ValidationError
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import Subscription
from app.models.user import Role, User, UserSession
from app.templating import render_page

SORTS = {"created_at": User.created_at, "username": User.username, "email": User.email,
         "last_login_at": User.last_login_at}


@bp.get("/users")
@require("users.view")
def users_list():
    q = arg_q()
    roles = db.session.scalars(sa.select(Role).order_by(Role.name)).all()
    role = arg_choice("role", [r.name for r in roles])
    status = arg_choice("status", ("active", "inactive", "unverified"))
    query = sa.select(User).join(Role)
    if q:
        pattern = like_pattern(q.lower())
        query = query.where(sa.or_(User.email.like(pattern), User.username.like(pattern),
                                   User.phone.like(like_pattern(q))))
    if role:
        query = query.where(Role.name == role)
    if status == "active":
        query = query.where(User.is_active.is_(True))
    elif status == "inactive":
        query = query.where(User.is_active.is_(False))
    elif status == "unverified":
        query = query.where(User.email_verified_at.is_(None))
    args = {"q": q, "role": role, "status": status}
    listing = paginate(query, endpoint="admin.users_list", sorts=SORTS, default_sort="created_at", args=args)
    return render_page("admin/users.html", block="results", listing=listing, roles=roles, args=args)


@bp.get("/users/<uuid:user_id>")
@require("users.view")
def users_detail(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    sessions = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    subscriptions = db.session.scalars(
        sa.select(Subscription).where(Subscription.user_id == user.id)
        .options(sa.orm.joinedload(Subscription.plan), sa.orm.joinedload(Subscription.product))
        .order_by(Subscription.created_at.desc()).limit(50)
    ).all()
    trail = db.session.scalars(
        sa.select(AuditEvent).where(sa.or_(AuditEvent.actor_id == user.id, AuditEvent.target_id == str(user.id)))
        .order_by(AuditEvent.created_at.desc()).limit(30)
    ).all()
    roles = db.session.scalars(sa.select(Role).order_by(Role.name)).all()
    return render_template("admin/user_detail.html", user=user, sessions=sessions, subscriptions=subscriptions,
                           trail=trail, roles=roles)


@bp.post("/users/<uuid:user_id>/role")
@require("roles.manage")
def users_change_role(user_id: uuid.UUID):
    try:
        role_id = int(request.form.get("role_id", ""))
    except ValueError:
        raise ValidationError("Choose a role", field="role") from None
    user = services.change_user_role(user_id, role_id, actor_id=current_user.id)
    flash(f"{user.username} is now {user.role.name}.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)


@bp.post("/users/<uuid:user_id>/deactivate")
@require("users.manage")
def users_deactivate(user_id: uuid.UUID):
    user = services.set_user_active(user_id, False, actor_id=current_user.id)
    flash(f"{user.username} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)


@bp.post("/users/<uuid:user_id>/reactivate")
@require("users.manage")
def users_reactivate(user_id: uuid.UUID):
    user = services.set_user_active(user_id, True, actor_id=current_user.id)
    flash(f"{user.username} can sign in again.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)
