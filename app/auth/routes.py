"""Signup, verification, the username check, login (password or emailed code) and logout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.auth import bp, devices, services, throttle, usernames
from app.auth.forms import PASSWORD_HINT, CodeForm, EmailForm, LoginCodeForm, LoginForm, SignupForm
from app.auth.views import form_error, mask_email, render_form, render_limited, safe_next, see_other
from app.errors import AuthenticationError, RateLimited, ValidationError
from app.extensions import db, limiter
from app.models.user import User
from app.web import is_htmx

# The address whose code the verification page checks (the account behind it is looked up there,
# so the session is the same whether or not signup found an existing account).
VERIFY_EMAIL, CODE_EMAIL = "verify_email", "login_code_email"


def _signed_in_redirect():
    return redirect(safe_next() or url_for("main.home"), 303)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(throttle.SIGNUP_PER_IP, methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return _signed_in_redirect()
    form = SignupForm()
    availability = None
    if request.method == "GET" and request.args.get("username"):
        availability = usernames.check_username(request.args["username"][:100])
        form.username.data = availability.name
    if form.validate_on_submit():
        try:
            services.register(
                username=form.username.data, email=form.email.data, password=form.password.data, phone=form.phone.data
            )
        except ValidationError as exc:
            form_error(form, exc)
        else:
            session[VERIFY_EMAIL] = form.email.data
            return see_other("auth.verify")
    if form.errors and usernames.username_problem(form.username.data or "") is None:
        availability = usernames.check_username(form.username.data)  # the live answer, with suggestions
    return render_form("auth/signup.html", form, availability=availability, password_hint=PASSWORD_HINT)


@bp.get("/check-username")
@limiter.limit(throttle.USERNAME_CHECK_PER_IP)
def check_username():
    raw = request.args.get("username", "")[:100]
    if not is_htmx():
        return redirect(url_for("auth.signup", username=raw))
    return render_template("auth/_username_status.html", availability=usernames.check_username(raw))


@bp.route("/verify", methods=["GET", "POST"])
@throttle.failed_login_limit
def verify():
    if VERIFY_EMAIL not in session:
        flash("Log in to finish verifying your email.", "info")
        return see_other("auth.login")
    form = CodeForm()
    context = {"email": mask_email(session[VERIFY_EMAIL])}
    if form.validate_on_submit():
        user = services.complete_email_verification(session[VERIFY_EMAIL], form.code.data)
        if user is not None:
            flash(f"Welcome, {user.display_name}! Your email is verified and you're signed in.", "success")
            return see_other("main.home")
        form.code.errors.append(services.BAD_CODE)
        return render_form("auth/verify.html", form, 401, **context)
    return render_form("auth/verify.html", form, **context)


@bp.post("/verify/resend")
@throttle.code_request_limit
def verify_resend():
    if VERIFY_EMAIL not in session:
        return see_other("auth.login")
    try:
        throttle.hit("code_request", session[VERIFY_EMAIL])
        services.resend_verification_code(session[VERIFY_EMAIL])
    except RateLimited as exc:
        return render_limited(
            "auth/verify.html", exc, form=CodeForm(formdata=None), email=mask_email(session[VERIFY_EMAIL])
        )
    flash(f"We sent a new code to {mask_email(session[VERIFY_EMAIL])}.", "success")
    return see_other("auth.verify")


def _to_verification(user: User):
    try:
        services.send_verification_code(user)
    except RateLimited:
        db.session.rollback()  # a code went out moments ago; it still works
    session[VERIFY_EMAIL] = user.email
    flash("Your email address isn't verified yet. Enter the code we've just emailed you.", "info")
    return see_other("auth.verify")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(throttle.LOGIN_PER_IP, methods=["POST"])
@throttle.failed_login_limit
def login():
    if current_user.is_authenticated:
        return _signed_in_redirect()
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.identifier.data, form.password.data, devices=devices.presented())
        except RateLimited as exc:
            return render_limited("auth/login.html", exc, form=form)
        except AuthenticationError as exc:
            form_error(form, exc)
            return render_form("auth/login.html", form, 401)
        if not user.is_verified:
            return _to_verification(user)
        services.login(user, remember=form.remember.data)
        flash(f"Welcome back, {user.display_name}.", "success")
        return _signed_in_redirect()
    return render_form("auth/login.html", form)


@bp.route("/login/code", methods=["GET", "POST"])
@throttle.code_request_limit
def login_code():
    if current_user.is_authenticated:
        return _signed_in_redirect()
    form = EmailForm()
    if form.validate_on_submit():
        try:
            services.request_login_code(form.email.data)
        except RateLimited as exc:
            return render_limited("auth/login_code.html", exc, form=form)
        session[CODE_EMAIL] = form.email.data
        return redirect(url_for("auth.login_code_enter", next=safe_next()), 303)
    return render_form("auth/login_code.html", form)


@bp.route("/login/code/enter", methods=["GET", "POST"])
@throttle.failed_login_limit
def login_code_enter():
    email = session.get(CODE_EMAIL)
    if not email:
        return see_other("auth.login_code")
    form = LoginCodeForm()
    if form.validate_on_submit():
        try:
            user = services.login_with_code(email, form.code.data, remember=form.remember.data)
        except AuthenticationError as exc:
            form_error(form, exc)
            return render_form("auth/login_code_enter.html", form, 401, email=email)
        flash(f"Welcome back, {user.display_name}.", "success")
        return _signed_in_redirect()
    return render_form("auth/login_code_enter.html", form, email=email)


@bp.post("/logout")
@login_required
def logout():
    services.logout(current_user._get_current_object())
    flash("You're logged out. See you soon.", "success")
    return see_other("main.home")
