"""/account/security: password, authenticator app, recovery codes, passkeys, sessions and recent events."""

from __future__ import annotations

from flask import render_template, request, session
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.account import bp, queries
from app.account.forms import EnableTotpForm
from app.auth import mfa, passkeys, stepup, totp
from app.errors import Conflict, ValidationError
from app.models.user import User
from app.web import render_form, see_other, service_errors

ENROLLING = "totp_enrolling"  # the new secret, encrypted, until a code confirms it
STAFF_MUST_ENROLL = (
    "Staff accounts need a second factor: set up an authenticator app to open the admin area. "
    "It takes a minute, and protects every customer's data."
)


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


@bp.get("/security")
def security() -> ResponseReturnValue:
    user = _me()
    return render_template(
        "account/security.html",
        user=user,
        has_totp=mfa.has_totp(user),
        codes_left=mfa.recovery_codes_left(user),
        passkey_count=passkeys.count_for(user),
        has_second_factor=mfa.has_second_factor(user),
        is_staff=mfa.is_staff(user),
        events=queries.security_events(user),
    )


def _enrolling_secret() -> str:
    """The secret this enrollment shows: kept (encrypted) in the session, so a reload shows the same key."""
    secret = mfa.pending_secret(session.get(ENROLLING))
    if secret is None:
        secret = totp.new_secret()
        session[ENROLLING] = mfa.pending_secret_token(secret)
    return secret


@bp.route("/security/totp", methods=["GET", "POST"])
@stepup.required
def totp_enroll() -> ResponseReturnValue:
    user = _me()
    if mfa.has_totp(user):
        return see_other("account.security", message="Your authenticator app is already on.", category="info")
    secret = _enrolling_secret()
    form = EnableTotpForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(ValidationError, Conflict)):
            codes = mfa.enable_totp(user, secret, form.code.data)
            session.pop(ENROLLING, None)
            if codes:
                return show_recovery_codes(codes, first=True)
            return see_other("account.security", message="Your authenticator app is on.")
    uri = totp.provisioning_uri(secret, account=user.email, issuer=mfa.issuer())
    return render_form(
        "account/totp_enroll.html",
        form,
        qr=totp.qr_svg(uri, title="QR code to scan with your authenticator app"),
        key=totp.grouped(secret),
        staff_notice=STAFF_MUST_ENROLL if request.args.get("staff") and mfa.is_staff(user) else None,
    )


@bp.post("/security/totp/disable")
@stepup.required
def totp_disable() -> ResponseReturnValue:
    mfa.disable_totp(_me())  # a Conflict (already off; staff) is the error page's to explain
    return see_other(
        "account.security", message="Your authenticator app is off. Signing in asks only for your password."
    )


@bp.post("/security/recovery-codes")
@stepup.required
def recovery_codes_regenerate() -> ResponseReturnValue:
    codes = mfa.regenerate_recovery_codes(_me())
    return show_recovery_codes(codes, first=False)


def show_recovery_codes(codes: list[str], *, first: bool, added: str | None = None) -> ResponseReturnValue:
    """The codes, once: this response is the only place they ever appear (never cached).

    `added` names the passkey that just became the account's first second factor."""
    body = render_template("account/recovery_codes.html", codes=codes, first=first, added=added)
    return body, 200, {"Cache-Control": "no-store"}
