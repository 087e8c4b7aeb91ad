"""Password reset: ask for a link, then choose a new password from it."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.auth import bp, reset, throttle
from app.auth.forms import PASSWORD_HINT, EmailForm, NewPasswordForm
from app.auth.pages import render_limited
from app.errors import RateLimited, ValidationError
from app.extensions import limiter
from app.web import render_form, see_other, service_errors


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(throttle.RESET_PER_IP, methods=["POST"])
def password_reset_request() -> ResponseReturnValue:
    form = EmailForm()
    if form.validate_on_submit():
        try:
            reset.request_password_reset(form.email.data)
        except RateLimited as exc:
            return render_limited("auth/password_reset_request.html", form, exc)
        # The same page whether or not the address has an account.
        return render_template("auth/password_reset_sent.html", email=form.email.data)
    return render_form("auth/password_reset_request.html", form)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def password_reset(token: str) -> ResponseReturnValue:
    user = reset.user_for_reset_token(token)
    if user is None:
        return render_template("auth/password_reset_invalid.html"), 400
    form = NewPasswordForm(user=user)
    if form.validate_on_submit():
        same_browser = current_user.is_authenticated and current_user.id == user.id
        with service_errors(form, on_the_form=(ValidationError,)):
            reset.reset_password(
                user,
                form.password.data,
                current_session=current_user.current_session_id if same_browser else None,
                ip=request.remote_addr,
            )
            return see_other(
                "main.home" if same_browser else "auth.login",
                message="Your password was changed and your other sessions were signed out. "
                "Log in with your new password.",
            )
    return render_form("auth/password_reset_form.html", form, token=token, password_hint=PASSWORD_HINT)
