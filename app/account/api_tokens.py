"""/account/api-tokens: personal access tokens for scripts calling the JSON API (app/auth/tokens.py).

A new token is shown once, on the page that made it; only its hash is kept.
"""

from __future__ import annotations

import uuid

from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.account import bp
from app.account.forms import PersonalTokenForm
from app.auth import stepup, tokens
from app.models.user import User
from app.web import render_form, see_other, service_errors

SCOPE_DETAILS = {
    "read": "Read your profile, the catalog and your notifications.",
    "billing": "Subscriptions, invoices and payments.",
    "admin": "Staff only: the admin endpoints your role allows.",
}


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _form(**kwargs: object) -> PersonalTokenForm:
    form = PersonalTokenForm(**kwargs)
    form.scopes.choices = [SelectChoice(s, s) for s in tokens.allowed_scopes(_me())]
    return form


def _page(form: PersonalTokenForm, *, created: str | None = None) -> ResponseReturnValue:
    allowed = tokens.allowed_scopes(_me())
    return render_form(
        "account/api_tokens.html",
        form,
        tokens=tokens.personal_tokens(_me()),
        created=created,
        details={s: SCOPE_DETAILS[s] for s in allowed},
    )


@bp.route("/api-tokens", methods=["GET", "POST"])
@stepup.required
def api_tokens() -> ResponseReturnValue:
    form = _form()
    if form.validate_on_submit():
        with service_errors(form):
            _, raw = tokens.create_personal_token(_me(), name=form.name.data, scopes=list(form.scopes.data or []))
            return _page(_form(formdata=None), created=raw)
    return _page(form)


@bp.post("/api-tokens/<uuid:token_id>/revoke")
def api_token_revoke(token_id: uuid.UUID) -> ResponseReturnValue:
    row = tokens.revoke_personal_token(_me(), token_id)
    return see_other("account.api_tokens", message=f"Revoked “{row.name}”. Scripts using it are refused from now on.")
