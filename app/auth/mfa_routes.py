"""/auth/mfa: the second sign-in step, for an account with a second factor (app/auth/mfa.py)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.auth import bp, mfa, throttle
from app.auth.forms import PasskeySignInForm, SecondFactorForm
from app.auth.pages import render_limited
from app.errors import AuthenticationError, RateLimited, ValidationError
from app.extensions import limiter
from app.web import render_form, safe_next, see_other, service_errors


@bp.route("/mfa", methods=["GET", "POST"], endpoint="mfa")
@limiter.limit(throttle.LOGIN_PER_IP, methods=["POST"])
@throttle.failed_login_limit
def mfa_step() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"), 303)
    waiting = mfa.pending()
    if waiting is None:
        return see_other("auth.login", message="Your sign-in has expired. Please sign in again.", category="info")
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            with service_errors(form, on_the_form=(AuthenticationError, ValidationError)):
                done = mfa.complete_sign_in(form.code.data)
                flash(f"Welcome back, {done.user.display_name}.", "success")
                return redirect(safe_next(done.next_url or "") or url_for("main.home"), 303)
        except RateLimited as exc:
            return render_limited("auth/mfa.html", form, exc)
    return _page(form)


def _page(
    form: SecondFactorForm, passkey_form: PasskeySignInForm | None = None, status: int | None = None
) -> ResponseReturnValue:
    waiting = mfa.pending()
    offer_passkey = waiting is not None and mfa.has_passkey(waiting.user)
    return render_form("auth/mfa.html", form, status, passkey_form=passkey_form, offer_passkey=offer_passkey)


@bp.post("/mfa/passkey")
@limiter.limit(throttle.LOGIN_PER_IP)
@throttle.failed_login_limit
def mfa_passkey() -> ResponseReturnValue:
    """The second step with a passkey of the account that is half signed in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"), 303)
    if mfa.pending() is None:
        return see_other("auth.login", message="Your sign-in has expired. Please sign in again.", category="info")
    form = PasskeySignInForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(AuthenticationError, ValidationError)):
            done = mfa.complete_sign_in_with_passkey(form.credential.data)
            flash(f"Welcome back, {done.user.display_name}.", "success")
            return redirect(safe_next(done.next_url or "") or url_for("main.home"), 303)
    return _page(SecondFactorForm(formdata=None), form, getattr(form, "status", None) or 400)


@bp.post("/mfa/cancel")
def mfa_cancel() -> ResponseReturnValue:
    mfa.cancel_sign_in()
    return see_other("auth.login")
