"""Cards on file: the gateway token, brand, last 4 and expiry (never the number).

With the sandbox the card's fields are posted here and tokenized; with Stripe the card is
typed into Stripe's element and confirmed in the browser with a SetupIntent, and only the
SetupIntent's id reaches us (`card_from_setup`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa

from app import audit
from app.billing.gateway import GatewayUnavailable, PaymentGateway, SavedCard, get_gateway
from app.billing.gateway.cards import CardEntry, check_card
from app.errors import ExternalServiceError, ValidationError
from app.extensions import db
from app.models.billing import PaymentMethod
from app.models.user import User

if TYPE_CHECKING:  # the Stripe SDK is imported only when Stripe is the gateway
    from app.billing.gateway.stripe import Setup, StripeGateway


def default_for(user_id: uuid.UUID) -> PaymentMethod | None:
    return db.session.scalar(
        sa.select(PaymentMethod).where(PaymentMethod.user_id == user_id, PaymentMethod.is_default.is_(True))
    )


def save(user: User, saved: SavedCard, *, holder_name: str, gateway: str) -> PaymentMethod:
    """Make this card the default for renewals (in the caller's transaction)."""
    db.session.execute(
        sa.update(PaymentMethod)
        .where(PaymentMethod.user_id == user.id, PaymentMethod.is_default.is_(True))
        .values(is_default=False)
    )
    method = PaymentMethod(
        user_id=user.id,
        gateway=gateway,
        token=saved.token,
        brand=saved.brand,
        last4=saved.last4,
        exp_month=saved.exp_month,
        exp_year=saved.exp_year,
        holder_name=holder_name,
        is_default=True,
    )
    db.session.add(method)
    db.session.flush()
    return method


UNREACHABLE = "We couldn't reach the payment service. Try again in a moment."


def in_browser(gateway: PaymentGateway) -> StripeGateway | None:
    """The gateway as Stripe, when the card is typed into its element in the browser; else None."""
    if not gateway.collects_card_in_browser:
        return None
    from app.billing.gateway.stripe import StripeGateway

    return gateway if isinstance(gateway, StripeGateway) else None


def new_setup(user: User) -> Setup | None:
    """With Stripe: a SetupIntent for the browser to confirm a card with (None for the sandbox, whose
    card fields are posted). Raises ExternalServiceError."""
    gateway = in_browser(get_gateway())
    if gateway is None:
        return None
    try:
        return gateway.create_setup(user)
    except GatewayUnavailable:
        raise ExternalServiceError(UNREACHABLE) from None


def card_given(user: User, gateway: PaymentGateway, entry: CardEntry, setup_intent_id: str) -> tuple[SavedCard, str]:
    """The card the customer just gave, as the gateway keeps it, and the name on it: the sandbox tokenizes
    the posted fields, Stripe answers for the SetupIntent the browser confirmed. Raises ValidationError,
    NotFound (another customer's or an unknown SetupIntent), PaymentDeclined, ExternalServiceError."""
    stripe_gateway = in_browser(gateway)
    try:
        if stripe_gateway is not None:
            return stripe_gateway.card_from_setup(setup_intent_id, user), ""
        card, errors = check_card(entry)
        if card is None:
            raise ValidationError(errors)
        return gateway.tokenize(card), card.name
    except GatewayUnavailable:
        raise ExternalServiceError(UNREACHABLE) from None


def replace_card(user: User, entry: CardEntry, setup_intent_id: str = "") -> PaymentMethod:
    """The "card for renewals": the card given (fields or a confirmed SetupIntent), saved as the default.
    Raises ValidationError, NotFound, PaymentDeclined, ExternalServiceError."""
    gateway = get_gateway()
    saved, holder = card_given(user, gateway, entry, setup_intent_id)
    method = save(user, saved, holder_name=holder, gateway=gateway.name)
    audit.record("payment_method.saved", actor_id=user.id, target=method, after={"card": method.label})
    db.session.commit()
    return method
