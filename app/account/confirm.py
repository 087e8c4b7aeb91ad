"""/account/confirm: prove it's you again before a sensitive change (app/auth/stepup.py)."""

from __future__ import annotations

from flask import redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.account import bp
from app.account.forms import ConfirmPasswordForm
from app.auth import stepup, throttle
from app.auth.forms import CodeForm
from app.auth.pages import render_limited
from app.errors import AuthenticationError, RateLimited
from app.models.user import User
from app.web import render_form, safe_next, service_errors

HOME = "account.profile"


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _back() -> ResponseReturnValue:
    return redirect(safe_next() or url_for(HOME), 303)


def _page(form: ConfirmPasswordForm | CodeForm, *, code_sent: bool = False) -> ResponseReturnValue:
    has_password = _me().password_hash is not None
    return render_form("account/confirm.html", form, has_password=has_password, next=safe_next(), code_sent=code_sent)


@bp.route("/confirm", methods=["GET", "POST"])
@throttle.failed_login_limit
def confirm() -> ResponseReturnValue:
    user = _me()
    if user.password_hash is None:  # a social- or code-only account confirms with an emailed code
        return _page(CodeForm(formdata=None), code_sent=False)
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(AuthenticationError, RateLimited)):
            stepup.confirm_with_password(user, form.password.data)
            return _back()
    return _page(form)


def _password_instead() -> ResponseReturnValue | None:
    """An account with a password confirms with it: the emailed code is for accounts without one."""
    if _me().password_hash is not None:
        return redirect(url_for("account.confirm", next=safe_next()), 303)
    return None


@bp.post("/confirm/code/send")
@throttle.code_request_limit
def confirm_code_send() -> ResponseReturnValue:
    if (instead := _password_instead()) is not None:
        return instead
    form = CodeForm(formdata=None)
    try:
        stepup.send_code(_me())
    except RateLimited as exc:
        return render_limited("account/confirm.html", form, exc, has_password=False, next=safe_next(), code_sent=True)
    return _page(form, code_sent=True)


@bp.post("/confirm/code")
@throttle.failed_login_limit
def confirm_code() -> ResponseReturnValue:
    if (instead := _password_instead()) is not None:
        return instead
    form = CodeForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(AuthenticationError,)):
            stepup.confirm_with_code(_me(), form.code.data)
            return _back()
    return _page(form, code_sent=True)
