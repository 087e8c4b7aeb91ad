"""Profile (with phone verification), sessions and password pages."""

from __future__ import annotations

import uuid

from flask import flash, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.account import bp, services
from app.account.forms import DetectedTimezoneForm, PasswordChangeForm, ProfileForm, SetPasswordForm
from app.auth import reset, stepup, throttle
from app.auth.forms import PASSWORD_HINT, CodeForm
from app.auth.pages import render_limited
from app.errors import AuthenticationError, RateLimited, ValidationError
from app.extensions import limiter
from app.models.user import User
from app.templating import render_page
from app.timezones import browser_zone_name
from app.web import is_htmx, render_form, safe_next, see_other, service_errors

PENDING_PHONE = "pending_phone"


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _profile_form(user: User) -> ProfileForm:
    form = ProfileForm(obj=user)
    if not form.is_submitted():
        form.fill_from(user)
        form.timezone.data = user.timezone or browser_zone_name() or "UTC"
    return form


@bp.route("/profile", methods=["GET", "POST"])
@limiter.limit(throttle.CODE_REQUESTS_PER_IP, methods=["POST"])
def profile() -> ResponseReturnValue:
    user = _me()
    form = _profile_form(user)
    back = safe_next()
    if form.validate_on_submit():
        phone = form.phone.data
        with service_errors(form, on_the_form=(ValidationError, RateLimited)):
            change = services.save_profile(user, form.profile(), phone=phone)
            if change is services.PhoneChange.CODE_SENT:
                session[PENDING_PHONE] = phone
                return see_other(
                    "account.phone_verify",
                    message=f"Profile saved. We texted a code to {phone} to confirm the new number.",
                )
            if back:  # came from the checkout review to change the billing details: back there
                flash("Profile saved.", "success")
                return redirect(back, 303)
            return see_other("account.profile", message="Profile saved.")
    return render_form("account/profile.html", form, user=user, back=back)


@bp.route("/phone/verify", methods=["GET", "POST"])
@throttle.failed_login_limit
def phone_verify() -> ResponseReturnValue:
    phone = session.get(PENDING_PHONE)
    if not phone:
        return see_other("account.profile")
    form = CodeForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(AuthenticationError,)):
            services.confirm_phone(_me(), phone, form.code.data)
            session.pop(PENDING_PHONE, None)
            return see_other("account.profile", message=f"{phone} is verified and saved on your profile.")
    return render_form("account/phone_verify.html", form, phone=phone)


@bp.post("/phone/send")
@throttle.code_request_limit
def phone_send() -> ResponseReturnValue:
    """Send a (new) code: for the pending number, or to verify the number already on the profile."""
    user = _me()
    phone = session.get(PENDING_PHONE) or user.phone
    if not phone or (phone == user.phone and user.phone_verified_at):
        return see_other("account.profile")
    try:
        services.resend_phone_code(user, phone)
    except RateLimited as exc:
        return render_limited("account/phone_verify.html", CodeForm(formdata=None), exc, phone=phone)
    session[PENDING_PHONE] = phone
    return see_other("account.phone_verify", message=f"We texted a code to {phone}.")


@bp.post("/timezone")
def timezone() -> ResponseReturnValue:
    """The zone static/js/timezone.js read from the browser: stored if the profile has none yet.

    204 whether stored or not (a chosen zone stays); a name that is no zone is a 400 saying so."""
    form = DetectedTimezoneForm()
    services.detect_timezone(_me(), form.timezone.data or "")
    return "", 204


def _sessions_page(message: str | None = None) -> ResponseReturnValue:
    user = _me()
    return render_page(
        "account/sessions.html",
        block="session_list",
        sessions=services.live_sessions(user),
        current_id=user.current_session_id,
        message=message,
    )


@bp.get("/sessions")
def sessions() -> ResponseReturnValue:
    return _sessions_page()


@bp.post("/sessions/<uuid:session_id>/end")
def session_end(session_id: uuid.UUID) -> ResponseReturnValue:
    record = services.end_one_session(_me(), session_id)
    message = f"Signed out {record.device or 'that device'}."
    if is_htmx():
        return _sessions_page(message)
    return see_other("account.sessions", message=message)


@bp.post("/sessions/end-others")
def sessions_end_others() -> ResponseReturnValue:
    ended = services.end_all_other_sessions(_me())
    message = f"Signed out {ended} other session{'s' if ended != 1 else ''}." if ended else "No other sessions to end."
    if is_htmx():
        return _sessions_page(message)
    return see_other("account.sessions", message=message)


@bp.route("/password", methods=["GET", "POST"])
@throttle.failed_login_limit
def password() -> ResponseReturnValue:
    user = _me()
    if user.password_hash is None:  # social or code sign-in only: there is no current password to type
        return see_other("account.password_set")
    form = PasswordChangeForm(user=user)
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(ValidationError, AuthenticationError)):
            ended = reset.change_password(user, form.current_password.data, form.password.data, ip=request.remote_addr)
            stepup.mark_recent()  # the current password was just typed
            signed_out = f" {ended} other session(s) were signed out." if ended else ""
            return see_other("account.password", message=f"Password changed.{signed_out}")
    return render_form("account/password.html", form, password_hint=PASSWORD_HINT)


@bp.route("/password/set", methods=["GET", "POST"])
@stepup.required
def password_set() -> ResponseReturnValue:
    """A first password for an account that signs in without one; step-up (an emailed code) stands in for it."""
    user = _me()
    if user.password_hash is not None:
        return see_other("account.password")
    form = SetPasswordForm(user=user)
    if form.validate_on_submit():
        with service_errors(form):
            reset.set_password(
                user,
                form.password.data,
                action="password.set",
                keep_session=user.current_session_id,
                ip=request.remote_addr,
            )
            return see_other("account.password", message="Password set. You can now sign in with it too.")
    return render_form("account/password_set.html", form, password_hint=PASSWORD_HINT)
