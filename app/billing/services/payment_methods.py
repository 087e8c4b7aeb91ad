"""Cards on file: the gateway token, brand, last 4 and expiry (never the number)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from app import audit
from app.billing.gateway import GatewayUnavailable, PaymentGateway, SavedCard, Setup, get_gateway
from app.billing.gateway.cards import CardEntry, check_card
from app.errors import Conflict, ExternalServiceError, ValidationError
from app.extensions import db
from app.models.billing import PaymentMethod
from app.models.user import User


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


def card_in_browser() -> bool:
    """Whether the card is typed into the gateway's own element (Stripe) rather than our card fields."""
    return get_gateway().collects_card_in_browser


def start_card_setup(user: User) -> Setup:
    """A card set-up the browser completes (Stripe: a SetupIntent on the user's customer). Raises
    ExternalServiceError when the gateway doesn't answer, Conflict when it takes card fields instead."""
    gateway = get_gateway()
    if not gateway.collects_card_in_browser:
        raise Conflict("Enter your card in the form.")
    try:
        setup = gateway.create_setup(user)
    except GatewayUnavailable:
        raise ExternalServiceError("We couldn't reach the payment service. Try again in a moment.") from None
    db.session.commit()  # the customer id, where it was stored in this transaction (SQLite)
    return setup


def card_given(user: User, gateway: PaymentGateway, entry: CardEntry, setup_intent: str = "") -> tuple[SavedCard, str]:
    """The card the customer just gave, as the gateway keeps it, and the name on it: the sandbox tokenizes the
    fields, Stripe answers for the SetupIntent the browser set up. Raises ValidationError, PaymentDeclined,
    NotFound, ExternalServiceError."""
    try:
        if gateway.collects_card_in_browser:
            if not setup_intent.strip():
                raise ValidationError({"card": "Enter your card details"})
            saved = gateway.card_from_setup(setup_intent.strip(), user)
            return saved, saved.holder_name
        card, errors = check_card(entry)
        if card is None:
            raise ValidationError(errors)
        return gateway.tokenize(card), card.name
    except GatewayUnavailable:
        raise ExternalServiceError("We couldn't reach the payment service. Try again in a moment.") from None


def replace_card(user: User, entry: CardEntry, setup_intent: str = "") -> PaymentMethod:
    """The "card for renewals": check the fields and tokenize, or (Stripe) take the card the browser set up
    with this SetupIntent; save it. Raises ValidationError, PaymentDeclined, NotFound, ExternalServiceError."""
    gateway = get_gateway()
    saved, holder_name = card_given(user, gateway, entry, setup_intent)
    method = save(user, saved, holder_name=holder_name, gateway=gateway.name)
    audit.record("payment_method.saved", actor_id=user.id, target=method, after={"card": method.label})
    db.session.commit()
    return method
