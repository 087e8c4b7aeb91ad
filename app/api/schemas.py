"""The API's marshmallow schemas: they validate requests, serialize responses and make the OpenAPI document.

Every string has a maxLength; unknown fields are refused (marshmallow's default, RAISE).
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from app.auth.passwords import MAX_LENGTH as PASSWORD_MAX
from app.catalog.filters import MAX_CATEGORY, MAX_QUERY, SORTS
from app.models.catalog import BILLING_CYCLES

CLIENT_NAME = fields.String(
    load_default="",
    validate=validate.Length(max=80),
    metadata={"description": "What to call this sign-in on the sessions page (e.g. “Acme iOS app”)."},
)


def text(max_length: int, **kwargs: object) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), **kwargs)  # type: ignore[arg-type]


def required_text(max_length: int, **kwargs: object) -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=max_length), **kwargs)  # type: ignore[arg-type]


# --- auth ------------------------------------------------------------------------------


class SignupIn(ma.Schema):
    username = required_text(30)
    email = required_text(254)
    password = required_text(PASSWORD_MAX)
    phone = text(32, load_default=None, allow_none=True)
    timezone = text(64, load_default=None, allow_none=True)


class AcceptedOut(ma.Schema):
    status = fields.String(required=True, metadata={"description": "What happened, as a keyword."})
    detail = fields.String(required=True)


class VerifyIn(ma.Schema):
    email = required_text(254)
    code = required_text(20)
    client_name = CLIENT_NAME


class UsernameQuery(ma.Schema):
    username = required_text(100)


class UsernameOut(ma.Schema):
    name = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["available", "taken", "reserved", "invalid", "empty"])
    )
    message = fields.String(required=True)
    suggestions = fields.List(fields.String(), required=True)


class LoginIn(ma.Schema):
    """One of: identifier + password; email (send a code); email + code (complete)."""

    identifier = text(254)
    password = text(PASSWORD_MAX)
    email = text(254)
    code = text(20)
    client_name = CLIENT_NAME

    @ma.validates_schema
    def _one_mode(self, data: dict[str, object], **kwargs: object) -> None:
        if data.get("identifier") or data.get("password"):
            missing = [f for f in ("identifier", "password") if not data.get(f)]
            if missing:
                raise ma.ValidationError({f: ["Required with a password sign-in."] for f in missing})
            if data.get("email") or data.get("code"):
                raise ma.ValidationError({"email": ["Send either identifier + password, or email (+ code)."]})
        elif not data.get("email"):
            raise ma.ValidationError({"email": ["Send identifier + password, or email (+ code)."]})


class SignInOut(ma.Schema):
    """The outcome of a sign-in step. `status` says which fields are present."""

    status = fields.String(
        required=True,
        validate=validate.OneOf(["signed_in", "mfa_required", "code_sent", "verification_required"]),
    )
    detail = fields.String()
    token_type = fields.String(metadata={"description": "Bearer"})
    access_token = fields.String()
    refresh_token = fields.String()
    expires_in = fields.Integer(metadata={"description": "Seconds the access token lasts."})
    scopes = fields.List(fields.String())
    session_id = fields.UUID(metadata={"description": "This sign-in on the sessions page."})
    mfa_required = fields.Boolean()
    challenge_token = fields.String(metadata={"description": "Send it with the code to POST /auth/mfa."})


class MfaIn(ma.Schema):
    challenge_token = required_text(200)
    code = required_text(20, metadata={"description": "The authenticator's 6 digits, or a recovery code."})


class RefreshIn(ma.Schema):
    refresh_token = required_text(200)


class RevokeIn(ma.Schema):
    token = required_text(200, metadata={"description": "An access, refresh or personal token."})


class ResetIn(ma.Schema):
    email = required_text(254)


class ResetConfirmIn(ma.Schema):
    token = required_text(500, metadata={"description": "The token from the reset link (after ?token= or /reset/)."})
    password = required_text(PASSWORD_MAX)


# --- me --------------------------------------------------------------------------------


class MeOut(ma.Schema):
    id = fields.UUID(required=True)
    username = fields.String(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    phone = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    role = fields.Function(lambda user: user.role.name, required=True)
    email_verified = fields.Function(lambda user: user.email_verified_at is not None, required=True)


class MePatch(ma.Schema):
    first_name = text(80)
    last_name = text(80)
    timezone = text(64)


# --- products --------------------------------------------------------------------------


class PageQuery(ma.Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = text(200, load_default=None, metadata={"description": "The `next_cursor` of the previous page."})


class ProductQuery(PageQuery):
    q = text(MAX_QUERY, load_default="")
    category = text(MAX_CATEGORY, load_default="")
    cycle = fields.String(load_default="", validate=[validate.OneOf(["", *BILLING_CYCLES]), validate.Length(max=20)])
    sort = fields.String(load_default="relevance", validate=[validate.OneOf(list(SORTS)), validate.Length(max=20)])


class PriceOut(ma.Schema):
    amount = fields.Integer(required=True, metadata={"description": "Minor units (cents)."})
    currency = fields.String(required=True)


class PlanOut(ma.Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    billing_cycle = fields.String(required=True)
    price = fields.Integer(required=True, metadata={"description": "List price, minor units."})
    currency = fields.String(required=True)
    discount_percent = fields.Float(required=True)
    trial_days = fields.Integer(required=True)


class ProductOut(ma.Schema):
    id = fields.UUID(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    tagline = fields.String(required=True)
    category = fields.String(required=True)
    from_prices = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(PriceOut),
        metadata={"description": "The cheapest price per billing cycle."},
    )


class ProductDetailOut(ProductOut):
    description = fields.String(required=True)
    plans = fields.List(fields.Nested(PlanOut), required=True)
    current_subscription_id = fields.UUID(allow_none=True)


class ProductPageOut(ma.Schema):
    items = fields.List(fields.Nested(ProductOut), required=True)
    total = fields.Integer(required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    next = fields.String(allow_none=True, required=True, metadata={"description": "The next page's URL."})


# --- notifications ---------------------------------------------------------------------


class NotificationQuery(PageQuery):
    unread = fields.Boolean(load_default=False)


class NotificationOut(ma.Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    link = fields.String(allow_none=True)
    is_read = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)


class NotificationPageOut(ma.Schema):
    items = fields.List(fields.Nested(NotificationOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    next = fields.String(allow_none=True, required=True)


class ReadAllOut(ma.Schema):
    marked_read = fields.Integer(required=True)
