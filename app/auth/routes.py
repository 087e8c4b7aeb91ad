"""Signup, verification, the username check, login (password or emailed code) and logout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import bp, devices, services, throttle, usernames
from app.auth.emails import mask_email
from app.auth.forms import PASSWORD_HINT, CodeForm, EmailForm, LoginCodeForm, LoginForm, SignupForm
from app.auth.pages import render_limited
from app.auth.permissions import login_required
from app.errors import AuthenticationError, RateLimited, ValidationError
from app.extensions import limiter
from app.timezones import browser_zone_name
from app.web import is_htmx, render_form, safe_next, see_other, service_errors

# The address whose code the verification page checks (the account behind it is looked up there,
# so the session is the same whether or not signup found an existing account).
VERIFY_EMAIL, CODE_EMAIL = "verify_email", "login_code_email"
# Errors shown on the field; a RateLimited gets the page that explains the wait instead.
ON_THE_FIELD = (ValidationError, AuthenticationError)


def signed_in_redirect() -> Response:
    return redirect(safe_next() or url_for("main.home"), 303)


def _welcome(name: str) -> Response:
    """After the first factor: home (or `next`), or the second step when the account has one (app/auth/mfa.py)."""
    if not current_user.is_authenticated:
        return see_other("auth.mfa")
    flash(f"Welcome back, {name}.", "success")
    return signed_in_redirect()


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(throttle.SIGNUP_PER_IP, methods=["POST"])
def signup() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return signed_in_redirect()
    form = SignupForm()
    availability = None
    if request.method == "GET" and request.args.get("username"):
        availability = usernames.check_username(request.args["username"][:100])
        form.username.data = availability.name
    if form.validate_on_submit():
        with service_errors(form, on_the_form=ON_THE_FIELD):
            services.register(
                username=form.username.data,
                email=form.email.data,
                password=form.password.data,
                phone=form.phone.data,
                timezone=browser_zone_name(),
            )
            session[VERIFY_EMAIL] = form.email.data
            return see_other("auth.verify")
    if form.errors and usernames.username_problem(form.username.data or "") is None:
        availability = usernames.check_username(form.username.data)  # the live answer, with suggestions
    return render_form("auth/signup.html", form, availability=availability, password_hint=PASSWORD_HINT)


@bp.get("/check-username")
@limiter.limit(throttle.USERNAME_CHECK_PER_IP)
def check_username() -> ResponseReturnValue:
    raw = request.args.get("username", "")[:100]
    if not is_htmx():
        return redirect(url_for("auth.signup", username=raw))
    return render_template("auth/_username_status.html", availability=usernames.check_username(raw))


@bp.route("/verify", methods=["GET", "POST"])
@throttle.failed_login_limit
def verify() -> ResponseReturnValue:
    if VERIFY_EMAIL not in session:
        return see_other("auth.login", message="Log in to finish verifying your email.", category="info")
    form = CodeForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=ON_THE_FIELD):
            user = services.complete_email_verification(session[VERIFY_EMAIL], form.code.data)
            return see_other(
                "main.home", message=f"Welcome, {user.display_name}! Your email is verified and you're signed in."
            )
    return render_form("auth/verify.html", form, email=mask_email(session[VERIFY_EMAIL]))


@bp.post("/verify/resend")
@throttle.code_request_limit
def verify_resend() -> ResponseReturnValue:
    if VERIFY_EMAIL not in session:
        return see_other("auth.login")
    address = session[VERIFY_EMAIL]
    try:
        services.resend_verification_code(address)
    except RateLimited as exc:
        return render_limited("auth/verify.html", CodeForm(formdata=None), exc, email=mask_email(address))
    return see_other("auth.verify", message=f"We sent a new code to {mask_email(address)}.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(throttle.LOGIN_PER_IP, methods=["POST"])
@throttle.failed_login_limit
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return signed_in_redirect()
    form = LoginForm()
    if form.validate_on_submit():
        try:
            with service_errors(form, on_the_form=ON_THE_FIELD):
                user = services.sign_in_with_password(
                    form.identifier.data,
                    form.password.data,
                    remember=form.remember.data,
                    devices=devices.presented(),
                    next_url=safe_next(),
                )
                if not user.is_verified:
                    session[VERIFY_EMAIL] = user.email
                    return see_other(
                        "auth.verify",
                        message="Your email address isn't verified yet. Enter the code we've just emailed you.",
                        category="info",
                    )
                return _welcome(user.display_name)
        except RateLimited as exc:
            return render_limited("auth/login.html", form, exc)
    return render_form("auth/login.html", form)


@bp.route("/login/code", methods=["GET", "POST"])
@throttle.code_request_limit
def login_code() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return signed_in_redirect()
    form = EmailForm()
    if form.validate_on_submit():
        try:
            services.request_login_code(form.email.data)
        except RateLimited as exc:
            return render_limited("auth/login_code.html", form, exc)
        session[CODE_EMAIL] = form.email.data
        return redirect(url_for("auth.login_code_enter", next=safe_next()), 303)
    return render_form("auth/login_code.html", form)


@bp.route("/login/code/enter", methods=["GET", "POST"])
@throttle.failed_login_limit
def login_code_enter() -> ResponseReturnValue:
    email = session.get(CODE_EMAIL)
    if not email:
        return see_other("auth.login_code")
    form = LoginCodeForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=ON_THE_FIELD):
            user = services.login_with_code(email, form.code.data, remember=form.remember.data, next_url=safe_next())
            return _welcome(user.display_name)
    return render_form("auth/login_code_enter.html", form, email=email)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    services.logout(current_user._get_current_object())
    return see_other("main.home", message="You're logged out. See you soon.")
