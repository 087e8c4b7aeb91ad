"""Start and finish a social sign-in; ask for an email when the provider gave none."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.errors import ValidationError
from app.extensions import limiter
from app.oauth import bp, services
from app.oauth.providers import PROVIDERS
from app.oauth.services import SignInProblem

LIMIT = "30/minute"


def _problem(exc: SignInProblem):
    provider = exc.provider or PROVIDERS.get(request.view_args.get("provider", "") if request.view_args else "")
    return render_template("oauth/problem.html", message=exc.message, provider=provider, status=exc.status), exc.status


@bp.get("/<provider>")
@limiter.limit(LIMIT)
def start(provider: str):
    try:
        return redirect(services.authorization_url(provider, request.args.get("next")))
    except SignInProblem as exc:
        return _problem(exc)


@bp.get("/<provider>/callback")
@limiter.limit(LIMIT)
def callback(provider: str):
    try:
        result = services.complete_sign_in(provider)
    except SignInProblem as exc:
        return _problem(exc)
    if result.user is None:
        return redirect(url_for("oauth.email"))
    flash(f"Signed in as {result.user.display_name}.", "success")
    return redirect(result.next_url)


@bp.route("/email", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
def email():
    pending = services.pending_profile()
    if pending is None:
        return _problem(SignInProblem("There's no sign-in waiting for an email address. Please start again."))
    profile, extra = pending
    error, value = None, ""
    if request.method == "POST":
        value = request.form.get("email", "")
        try:
            result = services.finish_with_email(value)
        except SignInProblem as exc:
            return _problem(exc)
        except ValidationError as exc:
            error = exc.message
        else:
            flash(f"Signed in as {result.user.display_name}.", "success")
            return redirect(result.next_url)
    context = {"profile": profile, "provider": PROVIDERS[profile.provider], "reason": extra["reason"],
               "error": error, "value": value[:254]}
    return render_template("oauth/email.html", **context), 400 if error else 200
