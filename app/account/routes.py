"""Profile (with phone verification), sessions and password pages."""

from __future__ import annotations

import uuid

from flask import flash, session
from flask_login import current_user

from app.account import bp, services
from app.account.forms import ADDRESS_FIELDS, PasswordChangeForm, ProfileForm
from app.auth import throttle
from app.auth.forms import PASSWORD_HINT, CodeForm
from app.auth.reset import change_password
from app.auth.views import form_error, render_form, render_limited, see_other
from app.errors import RateLimited, ValidationError
from app.extensions import limiter
from app.templating import render_page
from app.web import is_htmx

PENDING_PHONE = "pending_phone"


def _me():
    return current_user._get_current_object()


def _profile_form() -> ProfileForm:
    user = _me()
    form = ProfileForm(obj=user)
    if not form.is_submitted():
        for name in ADDRESS_FIELDS:
            form[name].data = (user.address or {}).get(name, "")
    return form


@bp.route("/profile", methods=["GET", "POST"])
@limiter.limit(throttle.CODE_REQUESTS_PER_IP, methods=["POST"])
def profile():
    form, user = _profile_form(), _me()
    if form.validate_on_submit():
        services.update_profile(user, form.profile_data())
        phone = form.phone.data
        if not phone and user.phone:
            services.remove_phone(user)
        elif phone and phone != user.phone:
            try:
                services.send_phone_code(user, phone)
            except RateLimited as exc:
                form_error(form, ValidationError({"phone": exc.message}))
                return render_form("account/profile.html", form, 429, user=user)
            session[PENDING_PHONE] = phone
            flash(f"Profile saved. We texted a code to {phone} to confirm the new number.", "success")
            return see_other("account.phone_verify")
        flash("Profile saved.", "success")
        return see_other("account.profile")
    return render_form("account/profile.html", form, user=user)


@bp.route("/phone/verify", methods=["GET", "POST"])
@throttle.failed_login_limit
def phone_verify():
    phone = session.get(PENDING_PHONE)
    if not phone:
        return see_other("account.profile")
    form = CodeForm()
    if form.validate_on_submit():
        if services.confirm_phone(_me(), phone, form.code.data):
            session.pop(PENDING_PHONE, None)
            flash(f"{phone} is verified and saved on your profile.", "success")
            return see_other("account.profile")
        form.code.errors.append("That code is wrong or has expired. Ask for a new one if you need to.")
        return render_form("account/phone_verify.html", form, 401, phone=phone)
    return render_form("account/phone_verify.html", form, phone=phone)


@bp.post("/phone/send")
@throttle.code_request_limit
def phone_send():
    """Send a (new) code: for the pending number, or to verify the number already on the profile."""
    user = _me()
    phone = session.get(PENDING_PHONE) or user.phone
    if not phone or (phone == user.phone and user.phone_verified_at):
        return see_other("account.profile")
    try:
        throttle.hit("code_request", str(user.id))
        services.send_phone_code(user, phone)
    except RateLimited as exc:
        return render_limited("account/phone_verify.html", exc, form=CodeForm(formdata=None), phone=phone)
    session[PENDING_PHONE] = phone
    flash(f"We texted a code to {phone}.", "success")
    return see_other("account.phone_verify")


def _sessions_page(message: str | None = None, status: int = 200):
    user = _me()
    body = render_page(
        "account/sessions.html",
        block="session_list",
        sessions=services.live_sessions(user),
        current_id=user.current_session_id,
        message=message,
    )
    return body, status


@bp.get("/sessions")
def sessions():
    return _sessions_page()


@bp.post("/sessions/<uuid:session_id>/end")
def session_end(session_id: uuid.UUID):
    record = services.end_one_session(_me(), session_id)
    message = f"Signed out {record.device or 'that device'}."
    if is_htmx():
        return _sessions_page(message)
    flash(message, "success")
    return see_other("account.sessions")


@bp.post("/sessions/end-others")
def sessions_end_others():
    ended = services.end_all_other_sessions(_me())
    message = f"Signed out {ended} other session{'s' if ended != 1 else ''}." if ended else "No other sessions to end."
    if is_htmx():
        return _sessions_page(message)
    flash(message, "success")
    return see_other("account.sessions")


@bp.route("/password", methods=["GET", "POST"])
@throttle.failed_login_limit
def password():
    user = _me()
    form = PasswordChangeForm(user=user)
    if form.validate_on_submit():
        try:
            ended = change_password(user, form.current_password.data, form.password.data)
        except ValidationError as exc:
            form_error(form, exc)
            return render_form("account/password.html", form, 401, password_hint=PASSWORD_HINT)
        flash("Password changed." + (f" {ended} other session(s) were signed out." if ended else ""), "success")
        return see_other("account.password")
    return render_form("account/password.html", form, password_hint=PASSWORD_HINT)
