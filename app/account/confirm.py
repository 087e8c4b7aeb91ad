"""/account/confirm: prove it's you again before a sensitive change (app/auth/stepup.py)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.account import bp
from app.account.forms import ConfirmPasswordForm
from app.auth import mfa, stepup, throttle
from app.auth.forms import CodeForm, SecondFactorForm
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


def _page(
    form: ConfirmPasswordForm | CodeForm, *, code_sent: bool = False, factor_form: SecondFactorForm | None = None
) -> ResponseReturnValue:
    user = _me()
    if factor_form is None and mfa.has_second_factor(user):
        factor_form = SecondFactorForm(formdata=None)
    context: dict[str, object] = {
        "has_password": user.password_hash is not None,
        "next": safe_next(),
        "code_sent": code_sent,
        "factor_form": factor_form,
    }
    status = None
    if factor_form is not None and factor_form.errors:  # the code was the one submitted: its status and wait
        status = getattr(factor_form, "status", None) or 400
        form.retry_after = getattr(factor_form, "retry_after", None)
    return render_form("account/confirm.html", form, status, **context)


@bp.route("/confirm", methods=["GET", "POST"])
@throttle.failed_login_limit
def confirm() -> ResponseReturnValue:
    user = _me()
    if request.method == "POST" and "code" in request.form and mfa.has_second_factor(user):
        factor_form = SecondFactorForm()
        if factor_form.validate_on_submit():
            with service_errors(factor_form, on_the_form=(AuthenticationError, RateLimited)):
                stepup.confirm_with_second_factor(user, factor_form.code.data)
                return _back()
        blank = ConfirmPasswordForm(formdata=None) if user.password_hash else CodeForm(formdata=None)
        return _page(blank, factor_form=factor_form)
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
