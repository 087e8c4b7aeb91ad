"""Sign in with a passkey alone, from the login page (app/auth/passkeys.py does the ceremony).

POST /auth/passkey/options answers the options as JSON (the challenge stays in the session);
static/js/passkeys.js asks the authenticator — on a click of "Sign in with a passkey", or through
the browser's autofill on the identifier field — and submits the answer to POST /auth/passkey.
Both are limited like the other sign-ins; a refused passkey counts as a failed sign-in.
"""

from __future__ import annotations

from flask import flash
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.auth import bp, passkeys, throttle
from app.auth.forms import LoginForm, PasskeySignInForm
from app.auth.routes import ON_THE_FIELD, signed_in_redirect
from app.extensions import limiter
from app.web import render_form, service_errors

JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}


@bp.post("/passkey/options")
@limiter.limit(throttle.LOGIN_PER_IP)
def passkey_options() -> ResponseReturnValue:
    return passkeys.authentication_options(), 200, JSON


@bp.post("/passkey")
@limiter.limit(throttle.LOGIN_PER_IP)
@throttle.failed_login_limit
def passkey_sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return signed_in_redirect()
    form = PasskeySignInForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=ON_THE_FIELD):
            user = passkeys.sign_in(form.credential.data, remember=form.remember.data)
            flash(f"Welcome back, {user.display_name}.", "success")
            return signed_in_redirect()
    status = getattr(form, "status", None) or 400
    return render_form("auth/login.html", LoginForm(formdata=None), status, passkey_form=form)
