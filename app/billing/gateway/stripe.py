"""The Stripe adapter: customers, SetupIntents, PaymentIntents and refunds through the official SDK.

The card is typed into Stripe's element in the browser and confirmed there with a
SetupIntent; this adapter only ever sees Stripe's ids (`seti_…`, `pm_…`, `pi_…`).
One Stripe Customer per user, created on first need, its id kept in
`payment_customer`. Every PaymentIntent and Refund carries our idempotency key as
Stripe's `Idempotency-Key` and in its metadata, so `retrieve` can find it again
when the answer to the call was lost.

All calls go through one `stripe.StripeClient` per (key, API base), with the
SDK's own retries (`max_network_retries=2`: connection errors, 409, 429 and 5xx,
each retry with the same Idempotency-Key). What still fails after them is
`GatewayUnavailable`: the outcome is unknown and reconciliation settles it.

localstripe (the tests' emulator) refuses `description`, `setup_future_usage` and
`automatic_payment_methods` on PaymentIntents and `reason` on refunds: those go
to Stripe only when STRIPE_API_BASE is Stripe's own, and into metadata otherwise.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
import stripe
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from stripe.params import PaymentIntentCreateParams, RefundCreateParams, SetupIntentCreateParams

from app.billing.gateway.base import (
    CardDetails,
    GatewayPayment,
    GatewayResult,
    GatewayUnavailable,
    NotThisGateway,
    PaymentGateway,
    SavedCard,
    Setup,
)
from app.errors import NotFound, PaymentDeclined
from app.extensions import db
from app.models.billing import PaymentCustomer, Transaction
from app.models.user import User

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

STRIPE_API = "https://api.stripe.com"
TIMEOUT_SECONDS = 30
# `retrieve` without a stored reference lists PaymentIntents (newest first at Stripe) this far back at most.
PAGE_SIZE = 100
LIST_PAGES = 20
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "Amex",
    "discover": "Discover",
    "diners": "Diners",
    "jcb": "JCB",
    "unionpay": "UnionPay",
}
AUTHENTICATION_REQUIRED = (
    "Your bank wants you to confirm this payment. Pay the invoice from your account to confirm it."
)
NOT_CONFIRMED = "Your card hasn't been confirmed. Enter it again."
UNREACHABLE = "the payment service did not answer"


def _unavailable(method: Callable[P, R]) -> Callable[P, R]:
    """Stripe not answering (after the SDK's retries) or answering 5xx/429: the outcome is unknown."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            log.warning("stripe: %s (%s)", UNREACHABLE, exc.__class__.__name__)
            raise GatewayUnavailable(f"{UNREACHABLE} ({exc.__class__.__name__})") from exc
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            log.error("stripe: the secret key was refused (%s)", exc.__class__.__name__)
            raise GatewayUnavailable(f"{UNREACHABLE}: the key was refused") from exc

    return call


def client_for(secret_key: str, api_base: str) -> stripe.StripeClient:
    """The app's one StripeClient for this key and API base (its HTTP session is reused)."""
    clients: dict[tuple[str, str], stripe.StripeClient] = current_app.extensions.setdefault("stripe_clients", {})
    key = (secret_key, api_base)
    if key not in clients:
        clients[key] = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        )
    return clients[key]


class StripeGateway(PaymentGateway):
    name = "stripe"
    collects_card_in_browser = True

    def __init__(self, client: stripe.StripeClient | None = None) -> None:
        config = current_app.config
        self.api_base: str = (config.get("STRIPE_API_BASE") or STRIPE_API).rstrip("/")
        self.client = client or client_for(config.get("STRIPE_SECRET_KEY") or "", self.api_base)
        # Parameters localstripe refuses go to Stripe's own API only.
        self.full_api = self.api_base == STRIPE_API

    # Customers -------------------------------------------------------------------------------

    def stored_customer(self, user_id: uuid.UUID | str) -> str | None:
        """The user's Stripe Customer id if one was created, else None (no call to Stripe)."""
        return db.session.scalar(
            sa.select(PaymentCustomer.customer_id).where(
                PaymentCustomer.user_id == uuid.UUID(str(user_id)), PaymentCustomer.gateway == self.name
            )
        )

    @_unavailable
    def customer_id(self, user: User) -> str:
        """The user's Stripe Customer, created on first need. Two racing requests end with one customer:
        Stripe collapses their creates by Idempotency-Key, and our (user, gateway) key keeps the first
        id stored; a loser whose create was not collapsed (localstripe ignores the key) deletes its own."""
        known = self.stored_customer(user.id)
        if known:
            return known
        name = " ".join(part for part in (user.first_name, user.last_name) if part)
        created = self.client.v1.customers.create(
            params={"email": user.email, "name": name or user.username, "metadata": {"user_id": str(user.id)}},
            options={"idempotency_key": f"customer:{user.id}"},
        )
        stored = _store_customer(user.id, self.name, created.id)
        if stored != created.id:
            log.info("stripe: customer %s lost the race for user %s; deleting it", created.id, user.id)
            try:
                self.client.v1.customers.delete(created.id)
            except stripe.StripeError as exc:  # an empty customer left behind harms nothing
                log.warning("stripe: could not delete the duplicate customer (%s)", exc.__class__.__name__)
        return stored

    def _customer_of(self, user_id: str | None, token: str) -> str | None:
        """The customer to charge with this card: the user's stored one. Charges come right after the caller's
        commit; if our database is gone by then, Stripe says whose card it is (the charge must name it)."""
        try:
            return self.stored_customer(user_id) if user_id else None
        except sa.exc.DBAPIError:
            with contextlib.suppress(sa.exc.DBAPIError):
                db.session.rollback()
            return _id(self.client.v1.payment_methods.retrieve(token).customer)

    # Cards -----------------------------------------------------------------------------------

    def tokenize(self, card: CardDetails) -> SavedCard:
        raise NotThisGateway("with Stripe the card is typed into Stripe's element: use card_from_setup")

    @_unavailable
    def create_setup(self, user: User) -> Setup:
        """A SetupIntent on the user's customer for a card to keep for later, off-session charges."""
        params: SetupIntentCreateParams = {
            "customer": self.customer_id(user),
            "usage": "off_session",
            "metadata": {"user_id": str(user.id)},
        }
        intent = self.client.v1.setup_intents.create(params=params)
        return Setup(intent.id, intent.client_secret or "")

    @_unavailable
    def card_from_setup(self, setup_intent_id: str, user: User) -> SavedCard:
        """The card the browser confirmed with this SetupIntent, attached to the user's customer.

        Raises NotFound when the SetupIntent is unknown or another customer's, PaymentDeclined when
        it hasn't succeeded (or attaching its card is declined)."""
        customer = self.stored_customer(user.id)
        setup_intent_id = (setup_intent_id or "").strip()
        if not customer or not setup_intent_id.startswith("seti_") or len(setup_intent_id) > 255:
            raise NotFound("We couldn't find that card. Enter it again.")
        try:
            intent = self.client.v1.setup_intents.retrieve(setup_intent_id)
        except stripe.InvalidRequestError:
            raise NotFound("We couldn't find that card. Enter it again.") from None
        if _id(intent.customer) != customer:
            raise NotFound("We couldn't find that card. Enter it again.")
        if intent.status != "succeeded" or not intent.payment_method:
            raise PaymentDeclined(NOT_CONFIRMED)
        method = self.client.v1.payment_methods.retrieve(_id(intent.payment_method) or "")
        owner = _id(method.customer)
        if owner is None:  # a SetupIntent confirmed by the browser may leave its card unattached
            try:
                method = self.client.v1.payment_methods.attach(method.id, params={"customer": customer})
            except stripe.CardError as exc:
                raise PaymentDeclined(exc.user_message or NOT_CONFIRMED) from None
        elif owner != customer:
            raise NotFound("We couldn't find that card. Enter it again.")
        card = method.card
        if card is None:
            raise PaymentDeclined("That payment method isn't a card. Enter a card.")
        billing = method.billing_details
        return SavedCard(
            token=method.id,
            brand=BRANDS.get(card.brand, card.brand.title())[:20],
            last4=card.last4,
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
            holder_name=((billing.name if billing is not None else None) or "")[:100],
        )

    # Money -----------------------------------------------------------------------------------

    @_unavailable
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
        """Create and confirm a PaymentIntent on the card (and its owner's customer, by metadata user_id)."""
        meta = {**(metadata or {}), "idempotency_key": idempotency_key}
        params: PaymentIntentCreateParams = {
            "amount": int(amount),
            "currency": currency.lower(),
            "payment_method": token,
            "confirm": True,
            "metadata": meta,
        }
        customer = self._customer_of(meta.get("user_id"), token)
        if customer:
            params["customer"] = customer
        if off_session:
            params["off_session"] = True
        if self.full_api:  # a saved card, confirmed here: nothing may redirect (no return_url)
            params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "never"}
        if description and self.full_api:
            params["description"] = description[:1000]
        elif description:
            meta["description"] = description[:500]
        try:
            intent = self.client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.CardError as exc:
            return _declined(exc, amount, currency)
        except stripe.InvalidRequestError as exc:  # a card that can't be used (detached, deleted): a failure
            return GatewayResult(
                "failed",
                _error_intent(exc),
                int(amount),
                currency,
                failure_code=(exc.code or "invalid_payment_method")[:40],
                message="That card can't be charged. Add a new card.",
            )
        result = _intent_result(intent)
        if result.requires_action and off_session:
            return GatewayResult(
                "failed",
                intent.id,
                result.amount,
                result.currency,
                failure_code="authentication_required",
                message=AUTHENTICATION_REQUIRED,
            )
        return result

    @_unavailable
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
        """A Stripe Refund of (part of) a PaymentIntent. Stripe refusing it (already refunded, more than
        is left) is a failed result with Stripe's message; nothing was refunded."""
        meta = {**(metadata or {}), "idempotency_key": idempotency_key}
        params: RefundCreateParams = {"amount": int(amount), "metadata": meta}
        if charge_reference.startswith("ch_"):
            params["charge"] = charge_reference
        else:
            params["payment_intent"] = charge_reference
        if reason and self.full_api and reason in REFUND_REASONS:
            params["reason"] = reason
        elif reason:
            meta["reason"] = reason[:500]
        try:
            refund = self.client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            return GatewayResult(
                "failed",
                None,
                int(amount),
                currency,
                failure_code=(exc.code or "refund_refused")[:40],
                message=(exc.user_message or "Stripe refused this refund.")[:300],
            )
        return _refund_result(refund)

    @_unavailable
    def retrieve(self, idempotency_key: str) -> GatewayResult | None:
        """The PaymentIntent or Refund made with this key: by the reference we stored, else by listing
        recent ones and matching metadata.idempotency_key. None if Stripe never saw the key.

        A PaymentIntent still waiting for the customer (requires_action) or for its bank (processing)
        is `pending`, carrying its client_secret."""
        row = db.session.execute(
            sa.select(Transaction.kind, Transaction.gateway_reference).where(
                Transaction.idempotency_key == idempotency_key
            )
        ).first()
        kind, reference = (row.kind, row.gateway_reference) if row else (None, None)
        if reference and reference.startswith("pi_"):
            return _pending_if_open(_intent_result(self.client.v1.payment_intents.retrieve(reference)))
        if reference and reference.startswith("re_"):
            return _refund_result(self.client.v1.refunds.retrieve(reference))
        if kind == "refund":
            found_refund = _first(self._listed(self.client.v1.refunds.list), idempotency_key)
            return _refund_result(found_refund) if found_refund is not None else None
        found = _first(self._listed(self.client.v1.payment_intents.list), idempotency_key)
        return _pending_if_open(_intent_result(found)) if found is not None else None

    @_unavailable
    def recent_payments(self) -> list[GatewayPayment]:
        """The most recent PaymentIntents (at most PAGE_SIZE × LIST_PAGES), each with what its refunds gave
        back, for reconciliation's report. localstripe lists no `created` filter, so none is sent."""
        refunded: dict[str, int] = {}
        for refund in self._listed(self.client.v1.refunds.list):
            intent = _id(getattr(refund, "payment_intent", None))
            if intent and refund.status in ("succeeded", "pending"):
                refunded[intent] = refunded.get(intent, 0) + int(refund.amount)
        payments = []
        for intent in self._listed(self.client.v1.payment_intents.list):
            result = _pending_if_open(_intent_result(intent))
            metadata = intent.metadata.to_dict() if intent.metadata is not None else {}
            payments.append(
                GatewayPayment(
                    reference=intent.id,
                    idempotency_key=metadata.get("idempotency_key"),
                    status=result.status,
                    amount=result.amount,
                    currency=result.currency,
                    refunded=refunded.get(intent.id, 0),
                )
            )
        return payments

    def _listed(self, lister: Callable[..., Any]) -> Iterator[Any]:
        after = None
        for _ in range(LIST_PAGES):
            page = lister(params={"limit": PAGE_SIZE, **({"starting_after": after} if after else {})})
            yield from page.data
            if not page.has_more or not page.data:
                return
            after = page.data[-1].id


def _store_customer(user_id: uuid.UUID, gateway: str, customer_id: str) -> str:
    """Insert the mapping unless one exists; return the stored id. In a transaction of its own (committed
    whatever becomes of the caller's), except on SQLite, whose one writer may be the caller."""
    dialect = db.engine.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PaymentCustomer)
    statement = insert.values(user_id=user_id, gateway=gateway, customer_id=customer_id).on_conflict_do_nothing(
        index_elements=["user_id", "gateway"]
    )
    query = sa.select(PaymentCustomer.customer_id).where(
        PaymentCustomer.user_id == user_id, PaymentCustomer.gateway == gateway
    )
    if dialect == "sqlite":
        db.session.execute(statement)
        return db.session.scalar(query) or customer_id
    with Session(db.engine) as own:
        own.execute(statement)
        own.commit()
        return own.scalar(query) or customer_id


def _id(value: Any) -> str | None:
    """An id whether Stripe gave it as a string or as an expanded object."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "id", None)


def _first(objects: Iterator[Any], idempotency_key: str) -> Any | None:
    for obj in objects:
        metadata = obj.metadata.to_dict() if obj.metadata is not None else {}
        if metadata.get("idempotency_key") == idempotency_key:
            return obj
    return None


def _error_intent(exc: stripe.StripeError) -> str | None:
    """The PaymentIntent a failed create left behind, when Stripe names it in the error."""
    error = exc.error
    return _id(getattr(error, "payment_intent", None)) if error is not None else None


def _declined(exc: stripe.CardError, amount: int, currency: str) -> GatewayResult:
    code = exc.code or "card_declined"
    decline = getattr(exc.error, "decline_code", None) if exc.error is not None else None
    if code == "card_declined" and decline == "insufficient_funds":
        code = decline
    message = AUTHENTICATION_REQUIRED if code == "authentication_required" else exc.user_message
    return GatewayResult(
        "failed",
        _error_intent(exc),
        int(amount),
        currency,
        failure_code=code[:40],
        message=(message or "Your card was declined.")[:300],
    )


def _intent_result(intent: Any) -> GatewayResult:
    amount, currency = int(intent.amount), str(intent.currency).upper()
    status = intent.status
    if status == "succeeded":
        return GatewayResult("succeeded", intent.id, amount, currency)
    if status in ("requires_action", "requires_confirmation"):
        return GatewayResult("requires_action", intent.id, amount, currency, client_secret=intent.client_secret)
    if status in ("processing", "requires_capture"):
        return GatewayResult("pending", intent.id, amount, currency)
    error = intent.last_payment_error
    code = (getattr(error, "decline_code", None) or getattr(error, "code", None)) if error else None
    message = getattr(error, "message", None) if error else None
    return GatewayResult(
        "failed",
        intent.id,
        amount,
        currency,
        failure_code=(code or ("canceled" if status == "canceled" else "card_declined"))[:40],
        message=(message or "Your card was declined.")[:300],
    )


def _pending_if_open(result: GatewayResult) -> GatewayResult:
    """A looked-up PaymentIntent the customer hasn't confirmed yet is still pending (nothing to settle)."""
    if not result.requires_action:
        return result
    return GatewayResult(
        "pending", result.reference, result.amount, result.currency, client_secret=result.client_secret
    )


def _refund_result(refund: Any) -> GatewayResult:
    status = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}.get(refund.status, "failed")
    return GatewayResult(
        status,
        refund.id,
        int(refund.amount),
        str(refund.currency).upper(),
        failure_code=None if status != "failed" else (getattr(refund, "failure_reason", None) or "refund_failed"),
        message=None if status != "failed" else "Stripe could not complete this refund.",
    )
