"""Password reset: ask for a link, then choose a new password from it."""

from __future__ import annotations

from flask import flash, render_template
from flask_login import current_user

from app.auth import bp, throttle
from app.auth.forms import PASSWORD_HINT, EmailForm, NewPasswordForm
from app.auth.reset import request_password_reset, reset_password, user_for_reset_token
from app.auth.views import form_error, render_form, render_limited, see_other
from app.errors import RateLimited, ValidationError
from app.extensions import limiter


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(throttle.RESET_PER_IP, methods=["POST"])
def password_reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        try:
            request_password_reset(form.email.data)
        except RateLimited as exc:
            return render_limited("auth/password_reset_request.html", exc, form=form)
        # The same page whether or not the address has an account.
        return render_template("auth/password_reset_sent.html", email=form.email.data)
    return render_form("auth/password_reset_request.html", form)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    user = user_for_reset_token(token)
    if user is None:
        return render_template("auth/password_reset_invalid.html"), 400
    form = NewPasswordForm(user=user)
    if form.validate_on_submit():
        same_browser = current_user.is_authenticated and current_user.id == user.id
        try:
            reset_password(
                user, form.password.data, current_session=current_user.current_session_id if same_browser else None
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            flash(
                "Your password was changed and your other sessions were signed out. Log in with your new password.",
                "success",
            )
            return see_other("main.home" if same_browser else "auth.login")
    return render_form("auth/password_reset_form.html", form, token=token, password_hint=PASSWORD_HINT)
