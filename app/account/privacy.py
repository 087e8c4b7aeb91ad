"""Email change, delete my account, export my data (/account/email, /account/delete, /account/export).

Each parses a form and calls one service (email_change, erasure, exports); all but the download
need a recent authentication (app/auth/stepup.py).
"""

from __future__ import annotations

import uuid

from flask import Response, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.account import bp, email_change, erasure, exports
from app.account.forms import DeleteAccountForm, EmailChangeForm
from app.auth import stepup, throttle
from app.auth.forms import CodeForm
from app.auth.sessions import sign_out_browser
from app.errors import AuthenticationError, RateLimited, ValidationError
from app.models.user import User
from app.templating import render_page
from app.web import render_form, see_other, service_errors

PENDING_EMAIL = "pending_email"


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _sent(address: str) -> str:
    return (
        f"We sent a code to {address}. It is valid for 1 hour; until you enter it, "
        "your account keeps its current address."
    )


@bp.route("/email", methods=["GET", "POST"])
@throttle.code_request_limit
@stepup.required
def email() -> ResponseReturnValue:
    user = _me()
    form = EmailChangeForm()
    if user.password_hash is not None and form.validate_on_submit():
        with service_errors(form, on_the_form=(ValidationError, RateLimited)):
            address = email_change.request_change(user, form.email.data)
            session[PENDING_EMAIL] = address
            return see_other("account.email_confirm", message=_sent(address))
    return render_form("account/email.html", form, user=user, pending=session.get(PENDING_EMAIL))


@bp.route("/email/confirm", methods=["GET", "POST"])
@throttle.failed_login_limit
def email_confirm() -> ResponseReturnValue:
    address = session.get(PENDING_EMAIL)
    if not address:
        return see_other("account.email")
    form = CodeForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(AuthenticationError, ValidationError)):
            email_change.confirm_change(_me(), address, form.code.data)
            session.pop(PENDING_EMAIL, None)
            return see_other("account.email", message=f"Your email address is now {address}.")
    return render_form("account/email_confirm.html", form, address=address)


@bp.route("/delete", methods=["GET", "POST"])
@stepup.required
def delete() -> ResponseReturnValue:
    user = _me()
    form = DeleteAccountForm()
    if form.validate_on_submit():
        with service_errors(form):
            erasure.delete_account(user.id, actor_id=user.id, typed_username=form.username.data)
            sign_out_browser()
            return see_other("main.home", message="Your account is deleted. We emailed you a last confirmation.")
    return render_form("account/delete.html", form, user=user)


def _export_page(message: str | None = None) -> ResponseReturnValue:
    export = exports.latest(_me())
    return render_page(
        "account/export.html",
        block="export_status",
        export=export,
        status=exports.status_of(export) if export else None,
        token=exports.token_for(export) if export else None,
        message=message,
    )


@bp.get("/export")
@stepup.required
def export() -> ResponseReturnValue:
    return _export_page()


@bp.post("/export")
@stepup.required
def export_request() -> ResponseReturnValue:
    exports.request_export(_me())
    return see_other("account.export", message="We're preparing your data. We'll email you a link when it's ready.")


@bp.get("/export/<uuid:export_id>/download")
def export_download(export_id: uuid.UUID) -> ResponseReturnValue:
    record, content = exports.download(_me(), export_id, request.args.get("token"))
    filename = f"multiproduct-data-{record.created_at:%Y-%m-%d}.json"
    return Response(
        content,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
