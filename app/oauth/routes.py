"""Start and finish a social sign-in; when the provider gave no usable email, prove one by a code."""

from __future__ import annotations

from typing import TypedDict

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import throttle
from app.auth.emails import mask_email
from app.auth.forms import CodeForm, EmailForm
from app.auth.pages import render_limited
from app.errors import AuthenticationError, RateLimited
from app.extensions import limiter
from app.oauth import bp, pending, services
from app.oauth.providers import PROVIDERS, Provider, SocialProfile
from app.oauth.services import SignInExpired, SignInProblem
from app.web import render_form, safe_next, see_other, service_errors, status_of

LIMIT = "30/minute"


def _problem(exc: SignInProblem) -> tuple[str, int]:
    provider = exc.provider or PROVIDERS.get(request.view_args.get("provider", "") if request.view_args else "")
    status = status_of(exc)
    return render_template("oauth/problem.html", message=exc.message, provider=provider, status=status), status


def _signed_in(user_name: str, next_url: str | None) -> Response:
    if not current_user.is_authenticated:  # the account has a second factor: ask for it first
        return redirect(url_for("auth.mfa"), 303 if request.method == "POST" else 302)
    flash(f"Signed in as {user_name}.", "success")
    return redirect(safe_next(next_url or "") or url_for("main.home"), 303 if request.method == "POST" else 302)


@bp.get("/<provider>")
@limiter.limit(LIMIT)
def start(provider: str) -> ResponseReturnValue:
    try:
        return redirect(services.authorization_url(provider, safe_next()))
    except SignInProblem as exc:
        return _problem(exc)


@bp.get("/<provider>/callback")
@limiter.limit(LIMIT)
def callback(provider: str) -> ResponseReturnValue:
    try:
        result = services.complete_sign_in(
            provider, state=request.args.get("state", ""), error=request.args.get("error")
        )
    except SignInProblem as exc:
        return _problem(exc)
    if result.user is None:
        return redirect(url_for("oauth.email"))
    return _signed_in(result.user.display_name, result.next_url)


class _Context(TypedDict):
    profile: SocialProfile
    provider: Provider
    reason: str


def _context(waiting: pending.Pending) -> _Context:
    return {"profile": waiting.profile, "provider": PROVIDERS[waiting.profile.provider], "reason": waiting.reason}


@bp.route("/email", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
@throttle.code_request_limit
def email() -> ResponseReturnValue:
    waiting = pending.current()
    if waiting is None:
        return _problem(SignInExpired())
    # Offer the address a code last went to, or the one the provider couldn't vouch for.
    form = EmailForm(data={"email": waiting.email or waiting.profile.email} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.send_link_code(form.email.data)
        except RateLimited as exc:
            return render_limited("oauth/email.html", form, exc, **_context(waiting))
        except SignInProblem as exc:
            return _problem(exc)
        return see_other("oauth.email_code")
    return render_form("oauth/email.html", form, **_context(waiting))


@bp.route("/email/code", methods=["GET", "POST"])
@throttle.failed_login_limit
def email_code() -> ResponseReturnValue:
    waiting = pending.current()
    if waiting is None or not waiting.email:
        return _problem(SignInExpired())
    form = CodeForm()
    if form.validate_on_submit():
        try:
            with service_errors(form, on_the_form=(AuthenticationError,)):
                result = services.finish_with_code(form.code.data)
                return _signed_in(result.user.display_name, result.next_url)
        except SignInProblem as exc:
            return _problem(exc)
    return render_form("oauth/code.html", form, email=mask_email(waiting.email), **_context(waiting))


@bp.post("/email/resend")
@throttle.code_request_limit
def email_resend() -> ResponseReturnValue:
    waiting = pending.current()
    if waiting is None or not waiting.email:
        return _problem(SignInExpired())
    try:
        services.send_link_code(waiting.email, resend=True)
    except RateLimited as exc:
        return render_limited(
            "oauth/code.html", CodeForm(formdata=None), exc, email=mask_email(waiting.email), **_context(waiting)
        )
    return see_other("oauth.email_code", message=f"We sent a new code to {mask_email(waiting.email)}.")
