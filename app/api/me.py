"""/api/v1/me: the signed-in account's profile."""

from __future__ import annotations

from typing import Any

from app.account import services as account
from app.api import schemas
from app.api.kit import ApiBlueprint, current_token
from app.models.user import User

blp = ApiBlueprint("api_me", __name__, url_prefix="/api/v1/me", description="Your account.")


@blp.route("", methods=["GET"])
@blp.auth("read")
@blp.response(200, schemas.MeOut)
def get_me() -> User:
    """Your profile."""
    return current_token().user


@blp.route("", methods=["PATCH"])
@blp.auth("read")
@blp.arguments(schemas.MePatch)
@blp.response(200, schemas.MeOut)
def patch_me(data: dict[str, Any]) -> User:
    """Change your names or time zone (fields left out keep their value)."""
    user = current_token().user
    profile = account.Profile(
        first_name=data.get("first_name", user.first_name),
        last_name=data.get("last_name", user.last_name),
        gender=user.gender,
        date_of_birth=user.date_of_birth,
        billing=account.BillingDetails(company=user.company or "", address=user.address, tax_id=user.tax_id or ""),
        timezone=data.get("timezone") or None,
    )
    account.update_profile(user, profile)
    return user
