"""Start and finish a social sign-in; when the provider gave no usable email, prove one by a code."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from app.auth import throttle
from app.auth.forms import CodeForm, EmailForm
from app.auth.views import form_error, mask_email, render_form, render_limited, see_other
from app.errors import AuthenticationError, RateLimited
from app.extensions import limiter
from app.oauth import bp, pending, services
from app.oauth.providers import PROVIDERS
from app.oauth.services import SignInProblem

LIMIT = "30/minute"


def _problem(exc: SignInProblem):
    provider = exc.provider or PROVIDERS.get(request.view_args.get("provider", "") if request.view_args else "")
    return render_template("oauth/problem.html", message=exc.message, provider=provider, status=exc.status), exc.status


def _signed_in(result: services.SignInResult):
    flash(f"Signed in as {result.user.display_name}.", "success")
    return redirect(result.next_url, 303 if request.method == "POST" else 302)


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
    return _signed_in(result)


def _context(waiting: pending.Pending) -> dict:
    return {"profile": waiting.profile, "provider": PROVIDERS[waiting.profile.provider], "reason": waiting.reason}


@bp.route("/email", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
@throttle.code_request_limit
def email():
    waiting = pending.current()
    if waiting is None:
        return _problem(SignInProblem(services.EXPIRED))
    # Offer the address a code last went to, or the one the provider couldn't vouch for.
    form = EmailForm(data={"email": waiting.email or waiting.profile.email} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.send_link_code(form.email.data)
        except RateLimited as exc:
            return render_limited("oauth/email.html", exc, form=form, **_context(waiting))
        except SignInProblem as exc:
            return _problem(exc)
        return see_other("oauth.email_code")
    return render_form("oauth/email.html", form, **_context(waiting))


@bp.route("/email/code", methods=["GET", "POST"])
@throttle.failed_login_limit
def email_code():
    waiting = pending.current()
    if waiting is None or not waiting.email:
        return _problem(SignInProblem(services.EXPIRED))
    form = CodeForm()
    context = {**_context(waiting), "email": mask_email(waiting.email)}
    if form.validate_on_submit():
        try:
            result = services.finish_with_code(form.code.data)
        except SignInProblem as exc:
            return _problem(exc)
        except AuthenticationError as exc:
            form_error(form, exc)
            return render_form("oauth/code.html", form, 401, **context)
        return _signed_in(result)
    return render_form("oauth/code.html", form, **context)


@bp.post("/email/resend")
@throttle.code_request_limit
def email_resend():
    waiting = pending.current()
    if waiting is None or not waiting.email:
        return _problem(SignInProblem(services.EXPIRED))
    try:
        services.send_link_code(waiting.email, resend=True)
    except RateLimited as exc:
        return render_limited(
            "oauth/code.html", exc, form=CodeForm(formdata=None), email=mask_email(waiting.email), **_context(waiting)
        )
    flash(f"We sent a new code to {mask_email(waiting.email)}.", "success")
    return see_other("oauth.email_code")
