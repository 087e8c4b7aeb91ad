"""/api/v1/auth: signup, verification, username check, sign-in (password, emailed code, second factor),
refresh, revoke and password reset — over the same services (and limits) as the sign-in pages."""

from __future__ import annotations

from typing import Any

from flask import request

from app.api import schemas
from app.api.kit import ApiBlueprint
from app.auth import reset, services, throttle, tokens, usernames
from app.auth.tokens import MfaChallenge, TokenPair
from app.errors import ValidationError
from app.extensions import limiter

blp = ApiBlueprint("api_auth", __name__, url_prefix="/api/v1/auth", description="Sign up, sign in, tokens.")

CODE_SENT = "If an account has that address, a sign-in code is on its way. Send it back with the email."
VERIFY_SENT = "Check your inbox for a verification code, then POST /auth/verify with it."
RESET_SENT = "If an account has that address, a reset link is on its way."


def signed_in(pair: TokenPair) -> dict[str, Any]:
    return {
        "status": "signed_in",
        "token_type": "Bearer",
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "scopes": list(pair.scopes),
        "session_id": pair.session_id,
    }


def outcome(result: TokenPair | MfaChallenge) -> dict[str, Any]:
    if isinstance(result, MfaChallenge):
        return {
            "status": "mfa_required",
            "mfa_required": True,
            "challenge_token": result.challenge_token,
            "expires_in": result.expires_in,
            "detail": "Send the authenticator's code (or a recovery code) to POST /auth/mfa.",
        }
    return signed_in(result)


def client_name(data: dict[str, Any]) -> str:
    """What the sessions page calls this sign-in: the name sent, else ("") the device read from the User-Agent."""
    return str(data.get("client_name") or "").strip()


@blp.route("/signup", methods=["POST"])
@limiter.limit(throttle.SIGNUP_PER_IP)
@blp.arguments(schemas.SignupIn)
@blp.response(202, schemas.AcceptedOut)
@blp.errors(429)
def signup(data: dict[str, Any]) -> dict[str, str]:
    """Create an account; a verification code is emailed (the same answer whether or not the email was taken)."""
    services.register(
        username=data["username"],
        email=data["email"],
        password=data["password"],
        phone=data.get("phone"),
        timezone=data.get("timezone"),
    )
    return {"status": "verification_sent", "detail": VERIFY_SENT}


@blp.route("/verify", methods=["POST"])
@throttle.failed_login_limit
@blp.arguments(schemas.VerifyIn)
@blp.response(200, schemas.SignInOut)
@blp.errors(401, 429)
def verify(data: dict[str, Any]) -> dict[str, Any]:
    """Check the emailed verification code: the email is verified and the account signed in."""
    user = services.verify_email_code(data["email"], data["code"])
    return signed_in(tokens.start_sign_in(user, client_name=client_name(data), method="verification"))


@blp.route("/check-username", methods=["GET"])
@limiter.limit(throttle.USERNAME_CHECK_PER_IP)
@blp.arguments(schemas.UsernameQuery, location="query")
@blp.response(200, schemas.UsernameOut)
@blp.errors(429)
def check_username(args: dict[str, Any]) -> usernames.Availability:
    """Whether a username can be had, with suggestions when it is taken."""
    return usernames.check_username(args["username"])


@blp.route("/login", methods=["POST"])
@limiter.limit(throttle.LOGIN_PER_IP)
@throttle.failed_login_limit
@blp.arguments(schemas.LoginIn)
@blp.response(200, schemas.SignInOut)
@blp.errors(401, 429)
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Sign in with identifier + password, or by emailed code: `{"email"}` sends one, `{"email", "code"}`
    completes. An account with a second factor answers `mfa_required` with a challenge token."""
    name = client_name(data)
    if data.get("identifier"):
        user = services.authenticate(data["identifier"], data["password"])
        if not user.is_verified:
            services.remind_to_verify(user)
            return {"status": "verification_required", "detail": VERIFY_SENT}
        return outcome(tokens.begin_sign_in(user, client_name=name, method="password"))
    if not data.get("code"):
        services.request_login_code(data["email"])
        return {"status": "code_sent", "detail": CODE_SENT}
    user = services.check_login_code(data["email"], data["code"])
    return outcome(tokens.begin_sign_in(user, client_name=name, method="code"))


@blp.route("/mfa", methods=["POST"])
@throttle.failed_login_limit
@blp.arguments(schemas.MfaIn)
@blp.response(200, schemas.SignInOut)
@blp.errors(401, 429)
def mfa(data: dict[str, Any]) -> dict[str, Any]:
    """Complete a sign-in that answered `mfa_required`: an authenticator code or a recovery code."""
    return signed_in(tokens.complete_mfa(data["challenge_token"], data["code"]))


@blp.route("/refresh", methods=["POST"])
@throttle.failed_login_limit
@blp.arguments(schemas.RefreshIn)
@blp.response(200, schemas.SignInOut)
@blp.errors(401, 429)
def refresh(data: dict[str, Any]) -> dict[str, Any]:
    """A new access + refresh token for a refresh token, which is then spent. Presenting a spent one
    again ends the whole sign-in (it was copied)."""
    return signed_in(tokens.refresh(data["refresh_token"]))


@blp.route("/revoke", methods=["POST"])
@blp.arguments(schemas.RevokeIn)
@blp.response(204)
@blp.errors(429)
def revoke(data: dict[str, Any]) -> None:
    """End the sign-in a token belongs to (or a personal token). Unknown tokens are no error (RFC 7009)."""
    tokens.revoke(data["token"])


@blp.route("/password-reset", methods=["POST"])
@limiter.limit(throttle.RESET_PER_IP)
@blp.arguments(schemas.ResetIn)
@blp.response(202, schemas.AcceptedOut)
@blp.errors(429)
def password_reset(data: dict[str, Any]) -> dict[str, str]:
    """Email a reset link (the same answer whether or not an account has the address)."""
    reset.request_password_reset(data["email"])
    return {"status": "reset_sent", "detail": RESET_SENT}


@blp.route("/password-reset/confirm", methods=["POST"])
@limiter.limit(throttle.RESET_PER_IP)
@blp.arguments(schemas.ResetConfirmIn)
@blp.response(200, schemas.AcceptedOut)
@blp.errors(429)
def password_reset_confirm(data: dict[str, Any]) -> dict[str, str]:
    """Set a new password with the token from the reset link; every sign-in of the account ends."""
    user = reset.user_for_reset_token(data["token"])
    if user is None:
        raise ValidationError({"token": "That reset link is invalid or has expired. Ask for a new one."})
    reset.reset_password(user, data["password"], ip=request.remote_addr)
    return {"status": "password_changed", "detail": "Your password is changed. Sign in with it."}
