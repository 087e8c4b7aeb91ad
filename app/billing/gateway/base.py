"""The payment gateway interface: what billing needs from a payment provider.

Every call that moves money carries our idempotency key, so a retried call (a
crash, a timeout, a double submit) returns the first result instead of charging
again, and `retrieve` can settle an attempt whose answer was lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from app.errors import ExternalServiceError

if TYPE_CHECKING:
    from app.models.user import User


@dataclass(frozen=True)
class CardDetails:
    """A card as typed at checkout. Lives only for the request: never stored, never logged."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str
    name: str

    def __repr__(self) -> str:  # keep the number out of logs and tracebacks
        return f"CardDetails(•••• {self.number[-4:]}, {self.exp_month:02d}/{self.exp_year})"


@dataclass(frozen=True)
class SavedCard:
    """What the gateway gives back for a card: a token to charge later, and what we may display."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str = ""  # as the provider has it (Stripe: the billing name given with the card)


class Setup(NamedTuple):
    """A card set-up for the browser (Stripe: a SetupIntent): its id and the secret the browser confirms it with."""

    id: str
    client_secret: str


@dataclass(frozen=True)
class GatewayResult:
    """The outcome of a charge or refund. status: succeeded, failed, pending or requires_action.

    requires_action: the customer's bank wants them to confirm the payment (3-D Secure) in their
    browser, with `client_secret` (on-session charges only; off-session that is a failure,
    `authentication_required`). The charge stays open until the gateway says how it ended.
    """

    status: str
    reference: str | None
    amount: int = 0
    currency: str = ""
    failure_code: str | None = None
    message: str | None = None
    client_secret: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def requires_action(self) -> bool:
        return self.status == "requires_action"


@dataclass(frozen=True)
class GatewayPayment:
    """A payment as the gateway lists it, for reconciliation: ours when it carries our idempotency key.

    status as in GatewayResult (succeeded, failed, pending); `refunded` is how much of it the gateway gave back."""

    reference: str
    idempotency_key: str | None
    status: str
    amount: int
    currency: str
    refunded: int = 0


class GatewayUnavailable(ExternalServiceError):
    """The gateway did not answer: the outcome is unknown (reconciliation settles it)."""


class NotThisGateway(RuntimeError):
    """A card flow the configured gateway doesn't use: card fields to one that collects cards in the browser,
    or a browser set-up to one that takes card fields (a programming error, never the customer's)."""


class PaymentGateway(ABC):
    """metadata: short strings naming the payment at the provider (transaction, user, attempt, invoice ids)."""

    name: str
    # True when the card is typed into the provider's own element in the browser (Stripe): our server then
    # receives only the provider's ids, never card fields, and `tokenize` is not used.
    collects_card_in_browser: bool = False

    @abstractmethod
    def tokenize(self, card: CardDetails) -> SavedCard:
        """Exchange card details for a reusable token."""

    def create_setup(self, user: User) -> Setup:
        """Start a card set-up the browser completes (only when `collects_card_in_browser`)."""
        raise NotThisGateway(f"the {self.name} gateway takes card fields: use tokenize")

    def card_from_setup(self, setup_intent_id: str, user: User) -> SavedCard:
        """The card the browser set up for this user (only when `collects_card_in_browser`)."""
        raise NotThisGateway(f"the {self.name} gateway takes card fields: use tokenize")

    @abstractmethod
    def charge(
        self,
        *,
        amount: int,
        currency: str,
        token: str,
        idempotency_key: str,
        off_session: bool = False,
        description: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> GatewayResult:
        """Charge a saved card. off_session: the customer is not present (renewals)."""

    @abstractmethod
    def refund(
        self,
        *,
        charge_reference: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> GatewayResult:
        """Give back (part of) a charge. Usually settles asynchronously."""

    @abstractmethod
    def retrieve(self, idempotency_key: str) -> GatewayResult | None:
        """The current state of the charge or refund made with this key; None if the gateway never saw it."""

    def recent_payments(self) -> list[GatewayPayment]:
        """The gateway's recent payments, for reconciliation's report of mismatches. A gateway that
        can't list its payments lists none (the report is then empty)."""
        return []
