"""/account/security/passkeys: list, add (a WebAuthn registration ceremony), rename and remove passkeys.

Adding, renaming and removing need a recent authentication (`@stepup.required`). The ceremony is
two requests from static/js/passkeys.js: POST …/options answers the options as JSON (the challenge
stays in the session); the browser asks the authenticator, puts its answer in the add form's hidden
`credential` field and submits the form, which this module verifies like any other form.
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.account import bp
from app.account.forms import PasskeyAddForm, PasskeyRenameForm
from app.account.security import show_recovery_codes
from app.auth import mfa, passkeys, stepup
from app.auth.sessions import describe_device
from app.models.user import User
from app.web import render_form, see_other, service_errors

JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _page(
    form: PasskeyAddForm | PasskeyRenameForm | None = None, *, renaming: int | None = None
) -> ResponseReturnValue:
    user = _me()
    add_form = form if isinstance(form, PasskeyAddForm) else PasskeyAddForm(formdata=None)
    rename_form = form if isinstance(form, PasskeyRenameForm) else None
    return render_form(
        "account/passkeys.html",
        add_form,
        status=getattr(form, "status", None) or (400 if form is not None and form.errors else None),
        passkeys=passkeys.list_for(user),
        rename_form=rename_form,
        renaming=renaming,
    )


@bp.get("/security/passkeys", endpoint="passkeys")
def passkeys_page() -> ResponseReturnValue:
    return _page()


@bp.post("/security/passkeys/options")
@stepup.required
def passkey_options() -> ResponseReturnValue:
    return passkeys.registration_options(_me()), 200, JSON


@bp.post("/security/passkeys")
@stepup.required
def passkey_add() -> ResponseReturnValue:
    form = PasskeyAddForm()
    if form.validate_on_submit():
        with service_errors(form):
            name = form.name.data or describe_device(request.user_agent.string or "")
            added = passkeys.add(_me(), form.credential.data, name)
            codes = mfa.first_recovery_codes(_me())  # a first second factor comes with its recovery codes
            if codes:
                return show_recovery_codes(codes, first=True, added=added.name)
            return see_other("account.passkeys", message=f"Passkey “{added.name}” added.")
    return _page(form)


@bp.post("/security/passkeys/<int:passkey_id>/rename")
@stepup.required
def passkey_rename(passkey_id: int) -> ResponseReturnValue:
    form = PasskeyRenameForm()
    if form.validate_on_submit():
        with service_errors(form):
            renamed = passkeys.rename(_me(), passkey_id, form.name.data)
            return see_other("account.passkeys", message=f"Passkey renamed to “{renamed.name}”.")
    passkeys.own(_me(), passkey_id)  # another account's id is a 404, not a form error
    return _page(form, renaming=passkey_id)


@bp.post("/security/passkeys/<int:passkey_id>/remove")
@stepup.required
def passkey_remove(passkey_id: int) -> ResponseReturnValue:
    name = passkeys.remove(_me(), passkey_id)
    return see_other("account.passkeys", message=f"Passkey “{name}” removed. It no longer signs in to your account.")
