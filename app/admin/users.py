import uuid

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import audit
from app.admin import bp
from app.admin.listing import arg_choice, arg_q, like_pattern, paginate, people_pattern
from app.auth import services as auth_services
from app.auth.permissions import permission_required
from app.auth.reset import request_password_reset
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.http_guards import int_id
from app.models.audit import AuditEvent
from app.models.billing import Subscription
from app.models.user import Role, User, UserSession
from app.templating import render_page

SORTS = {
    "created_at": User.created_at,
    "username": User.username,
    "email": User.email,
    "last_login_at": User.last_login_at,
}


@bp.get("/users")
@permission_required("users.view")
def users_list():
    q = arg_q()
    roles = db.session.scalars(sa.select(Role).order_by(Role.name)).all()
    role = arg_choice("role", [r.name for r in roles])
    status = arg_choice("status", ("active", "inactive", "unverified"))
    query = sa.select(User).join(Role)
    if q:
        pattern = people_pattern(q)
        query = query.where(
            sa.or_(User.email.like(pattern), User.username.like(pattern), User.phone.like(like_pattern(q)))
        )
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
@permission_required("users.view")
def users_detail(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    sessions = db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    subscriptions = db.session.scalars(
        sa.select(Subscription)
        .where(Subscription.user_id == user.id)
        .options(sa.orm.joinedload(Subscription.plan), sa.orm.joinedload(Subscription.product))
        .order_by(Subscription.created_at.desc())
        .limit(50)
    ).all()
    trail = db.session.scalars(
        sa.select(AuditEvent)
        .where(sa.or_(AuditEvent.actor_id == user.id, AuditEvent.target_id == str(user.id)))
        .order_by(AuditEvent.created_at.desc())
        .limit(30)
    ).all()
    roles = db.session.scalars(sa.select(Role).order_by(Role.name)).all()
    return render_template(
        "admin/user_detail.html", user=user, sessions=sessions, subscriptions=subscriptions, trail=trail, roles=roles
    )


def _locked_user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("No such user.")
    return user


@bp.post("/users/<uuid:user_id>/role")
@permission_required("roles.manage")
def users_change_role(user_id: uuid.UUID):
    role_id = int_id(request.form.get("role_id"))
    role = db.session.get(Role, role_id) if role_id else None
    if role is None:
        raise ValidationError({"role": "Choose one of the roles."})
    user = _locked_user(user_id)
    auth_services.change_role(user, role.name, actor_id=current_user.id)
    flash(f"{user.username} is now {role.name}.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)


@bp.post("/users/<uuid:user_id>/deactivate")
@permission_required("users.manage")
def users_deactivate(user_id: uuid.UUID):
    user = _locked_user(user_id)
    if user.is_active:
        auth_services.deactivate(user, actor_id=current_user.id)
    flash(f"{user.username} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)


@bp.post("/users/<uuid:user_id>/reactivate")
@permission_required("users.manage")
def users_reactivate(user_id: uuid.UUID):
    user = _locked_user(user_id)
    if not user.is_active:
        auth_services.reactivate(user, actor_id=current_user.id)
    flash(f"{user.username} can sign in again.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)


@bp.post("/users/<uuid:user_id>/resend-verification")
@permission_required("users.manage")
def users_resend_verification(user_id: uuid.UUID):
    user = db.get_or_404(User, user_id)
    if user.is_verified:
        raise Conflict(f"{user.email} is already verified.")
    auth_services.send_verification_code(user)
    audit.record("user.verification_resent", actor_id=current_user.id, target=user)
    db.session.commit()
    flash(f"A new verification code is on its way to {user.email}.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)


@bp.post("/users/<uuid:user_id>/send-reset")
@permission_required("users.manage")
def users_send_reset(user_id: uuid.UUID):
    """The admin never sees or sets a password: the user gets a reset link."""
    user = db.get_or_404(User, user_id)
    if not user.is_active:
        raise Conflict("Reactivate the account first.")
    request_password_reset(user.email)
    audit.record("user.reset_link_sent", actor_id=current_user.id, target=user)
    db.session.commit()
    flash(f"A password-reset link is on its way to {user.email}.", "success")
    return redirect(url_for("admin.users_detail", user_id=user_id), 303)
