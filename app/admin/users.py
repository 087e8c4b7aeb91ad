"""Users: the searchable list, one user (sessions, subscriptions, audit trail), and staff actions on them."""

from __future__ import annotations

import uuid

from flask import request
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from app.account.forms import DeleteAccountForm
from app.admin import bp, queries, services
from app.admin.forms import CreditAdjustForm, ListFilterForm, UserRoleForm
from app.admin.listing import paginate
from app.admin.staff import staff_id
from app.auth import mfa, stepup
from app.auth.permissions import permission_required
from app.billing import credit
from app.errors import ValidationError
from app.models.user import User
from app.money import format_money
from app.templating import render_page
from app.web import render_form, see_other, service_errors

SORTS = {
    "created_at": User.created_at,
    "username": User.username,
    "email": User.email,
    "last_login_at": User.last_login_at,
}


@bp.get("/users")
@permission_required("users.view")
def users_list() -> ResponseReturnValue:
    form = ListFilterForm(request.args)
    form.offer("role", [("", "Any role"), *((r.name, r.name) for r in queries.roles())])
    form.offer("status", [("", "Any status"), *((s, s.capitalize()) for s in queries.USER_STATUSES)])
    args = {"q": form.q.data, "role": form.choice("role"), "status": form.choice("status")}
    listing = paginate(
        queries.users(**args), endpoint="admin.users_list", sorts=SORTS, default_sort="created_at", args=args
    )
    return render_page("admin/users.html", block="results", listing=listing, filters=form)


def _detail_page(
    user_id: uuid.UUID, delete_form: DeleteAccountForm | None = None, credit_form: CreditAdjustForm | None = None
) -> ResponseReturnValue:
    detail = queries.user_detail(user_id)
    form = UserRoleForm(data={"role_id": str(detail.user.role_id)})
    form.role_id.choices = [SelectChoice(str(r.id), r.name) for r in detail.roles]
    delete_form = delete_form or DeleteAccountForm(formdata=None)
    status = getattr(delete_form, "status", None) or (400 if delete_form.errors else 200)
    if credit_form is not None:
        status = getattr(credit_form, "status", None) or (400 if credit_form.errors else 200)
    return render_form(
        "admin/user_detail.html",
        form,
        status=status,
        detail=detail,
        user=detail.user,
        delete_form=delete_form,
        has_second_factor=mfa.has_second_factor(detail.user),
        credit_form=credit_form or CreditAdjustForm(formdata=None),
        credit_balances=credit.balances(user_id),
        credit_entries=credit.entries(user_id, limit=20),
    )


@bp.get("/users/<uuid:user_id>")
@permission_required("users.view")
def users_detail(user_id: uuid.UUID) -> ResponseReturnValue:
    return _detail_page(user_id)


def _back(user_id: uuid.UUID, message: str) -> ResponseReturnValue:
    return see_other("admin.users_detail", message=message, user_id=user_id)


@bp.post("/users/<uuid:user_id>/role")
@permission_required("roles.manage")
@stepup.required
def users_change_role(user_id: uuid.UUID) -> ResponseReturnValue:
    form = UserRoleForm()
    if not form.validate_on_submit():
        raise ValidationError({"role_id": "Choose one of the roles."})
    user, role = services.change_user_role(user_id, actor_id=staff_id(), **form.command())
    return _back(user_id, f"{user.username} is now {role.name}.")


@bp.post("/users/<uuid:user_id>/credit")
@permission_required("billing.refund")
def users_adjust_credit(user_id: uuid.UUID) -> ResponseReturnValue:
    form = CreditAdjustForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(ValidationError,)):
            entry = credit.adjust(credit.Adjustment(user_id=user_id, **form.command()), staff_id())
            balance = format_money(entry.balance_after, entry.currency)
            return _back(user_id, f"Credit balance adjusted: {balance} {entry.currency} now.")
    return _detail_page(user_id, credit_form=form)


@bp.post("/users/<uuid:user_id>/deactivate")
@permission_required("users.manage")
def users_deactivate(user_id: uuid.UUID) -> ResponseReturnValue:
    user = services.set_user_active(user_id, False, actor_id=staff_id())
    return _back(user_id, f"{user.username} is deactivated and signed out everywhere.")


@bp.post("/users/<uuid:user_id>/reactivate")
@permission_required("users.manage")
def users_reactivate(user_id: uuid.UUID) -> ResponseReturnValue:
    user = services.set_user_active(user_id, True, actor_id=staff_id())
    return _back(user_id, f"{user.username} can sign in again.")


@bp.post("/users/<uuid:user_id>/sign-out-everywhere")
@permission_required("users.manage")
def users_sign_out_everywhere(user_id: uuid.UUID) -> ResponseReturnValue:
    user, ended = services.sign_out_everywhere(user_id, actor_id=staff_id())
    return _back(
        user_id, f"{user.username} is signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended)."
    )


@bp.post("/users/<uuid:user_id>/delete")
@permission_required("users.manage")
@stepup.required
def users_delete(user_id: uuid.UUID) -> ResponseReturnValue:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        with service_errors(form):
            username = services.delete_user(user_id, form.username.data, actor_id=staff_id())
            return _back(user_id, f"The account {username} is deleted: personal data erased, subscriptions cancelled.")
    return _detail_page(user_id, form)


@bp.post("/users/<uuid:user_id>/reset-second-factor")
@permission_required("users.manage")
@stepup.required
def users_reset_second_factor(user_id: uuid.UUID) -> ResponseReturnValue:
    """The admin never sees the secret: the factor is removed and the user, emailed, sets one up again."""
    user = services.reset_second_factor(user_id, actor_id=staff_id())
    return _back(user_id, f"{user.username}'s second factor is reset; they were emailed to set it up again.")


@bp.post("/users/<uuid:user_id>/resend-verification")
@permission_required("users.manage")
def users_resend_verification(user_id: uuid.UUID) -> ResponseReturnValue:
    user = services.resend_verification(user_id, actor_id=staff_id())
    return _back(user_id, f"A new verification code is on its way to {user.email}.")


@bp.post("/users/<uuid:user_id>/send-reset")
@permission_required("users.manage")
def users_send_reset(user_id: uuid.UUID) -> ResponseReturnValue:
    """The admin never sees or sets a password: the user gets a reset link."""
    user = services.send_password_reset(user_id, actor_id=staff_id())
    return _back(user_id, f"A password-reset link is on its way to {user.email}.")
