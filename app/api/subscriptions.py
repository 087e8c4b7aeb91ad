"""/api/v1/subscriptions: yours, a trial, a purchase, and cancel / resume / change of plan.

Each operation adapts one of the services the pages call (app/billing/services/*): the rules are theirs.
The money-moving POSTs (trial, purchase, change) honour an Idempotency-Key (app/api/idempotency.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from app.api import billing_schemas as bs
from app.api import pagination, schemas
from app.api.idempotency import idempotent, service_key
from app.api.kit import ApiBlueprint, current_token
from app.billing import invoices as invoice_service
from app.billing.gateway.cards import CardEntry
from app.billing.services import cart as cart_service
from app.billing.services import checkout as checkout_service
from app.billing.services import plan_changes as plan_change_service
from app.billing.services import subscriptions as subscription_service
from app.errors import FORM, Conflict, ValidationError
from app.models.billing import Subscription

blp = ApiBlueprint("api_subscriptions", __name__, url_prefix="/api/v1/subscriptions", description="Your subscriptions.")

NEEDS_ANSWERS = "Answer the product's questions to start the trial."


def _posted(answers: Mapping[str, object]) -> dict[str, str]:
    """JSON answers as the form would post them (the service parses them with the product's schema)."""
    posted: dict[str, str] = {}
    for name, value in answers.items():
        if value is None or value is False:
            continue
        posted[name] = "on" if value is True else str(value)
    return posted


@blp.route("", methods=["GET"])
@blp.auth("read")
@blp.arguments(schemas.PageQuery, location="query")
@blp.response(200, bs.SubscriptionPageOut)
def list_subscriptions(args: dict[str, Any]) -> dict[str, Any]:
    """Your subscriptions, live ones first, then newest first; pages by `next_cursor`."""
    position = pagination.decode(args["cursor"])
    offset = position if isinstance(position, int) and position >= 0 else 0
    rows = subscription_service.for_user(current_token().user_id)
    limit = args["limit"]
    cursor = pagination.encode(offset + limit) if len(rows) > offset + limit else None
    return {"items": rows[offset : offset + limit], "next_cursor": cursor, "next": pagination.next_link(cursor)}


@blp.route("/<uuid:subscription_id>", methods=["GET"])
@blp.auth("read")
@blp.errors(404)
@blp.response(200, bs.SubscriptionOut)
def get_subscription(subscription_id: uuid.UUID) -> Subscription:
    """One of your subscriptions (anyone else's is a 404)."""
    return subscription_service.get_for_user(current_token().user_id, subscription_id)


@blp.route("/trial", methods=["POST"])
@blp.auth("billing")
@idempotent
@blp.arguments(bs.TrialIn)
@blp.errors(404, 409)
@blp.response(201, bs.SubscriptionActionOut)
def start_trial(data: dict[str, Any]) -> dict[str, Any]:
    """Start a free trial of a plan, answering its product's questions (409 with why it's refused)."""
    result = subscription_service.start_trial(current_token().user, data["plan_id"], _posted(data["answers"]))
    if result.kind == "refused":
        raise Conflict(result.message)
    if result.kind == "needs_answers":
        raise ValidationError({f"answers.{name}": msg for name, msg in result.errors.items()} or {FORM: NEEDS_ANSWERS})
    started = result.subscription
    if started is None:  # "started" always carries it
        raise Conflict(result.message)
    sub = subscription_service.get_for_user(current_token().user_id, started.id)  # with its plan and product
    return {"message": result.message, "subscription": sub}


def _checkout_request(data: dict[str, Any], fingerprint: str) -> checkout_service.CheckoutRequest:
    card = data["card"] or {}
    return checkout_service.CheckoutRequest(
        user_id=current_token().user_id,
        idempotency_key=service_key("purchase"),
        review_fingerprint=fingerprint,
        payment_method=checkout_service.PaymentMethod(data["payment_method"]),
        card=CardEntry(
            number=card.get("number", ""),
            expiry=card.get("expiry", ""),
            cvc=card.get("cvc", ""),
            name=card.get("name", ""),
        ),
        setup_intent=data["setup_intent"],
        answers={item["product_id"]: _posted(item["answers"]) for item in data["items"]},
    )


def _card_field(key: str) -> str:
    """The checkout's field names as this API's: card_number … → card.number …; "card" (a gateway that
    collects the card itself got no confirmed card) → setup_intent."""
    if key == "card":
        return "setup_intent"
    return f"card.{key.removeprefix('card_')}" if key.startswith("card_") else key


def _fill_cart(items: list[dict[str, Any]]) -> str:
    """Make the cart exactly these plans (the checkout pays for the cart); its fingerprint."""
    user = current_token().user
    cart_service.clear(user)
    for item in items:
        plan, product = cart_service.plan_and_product(item["plan_id"])
        item["product_id"] = product.id
        cart_service.add(user, plan.id, item["quantity"])
    view = cart_service.view(user, acknowledge=False)
    return view.quote.fingerprint()


@blp.route("/purchase", methods=["POST"])
@blp.auth("billing")
@idempotent
@blp.arguments(bs.PurchaseIn)
@blp.errors(402, 404, 409, 502)
@blp.response(201, bs.PurchaseOut)
@blp.alt_response(202, schema=bs.PurchaseOut, description="Accepted: the payment is pending or needs the bank.")
def purchase(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Buy plans now: the cart becomes `items` and is paid as the checkout page pays it (one charge per
    Idempotency-Key; 402 when the card is declined, with nothing bought)."""
    fingerprint = _fill_cart(data["items"])
    try:
        result = checkout_service.submit(_checkout_request(data, fingerprint))
    except ValidationError as exc:
        raise ValidationError({_card_field(k): v for k, v in exc.errors.items()}) from None
    user_id = current_token().user_id
    if result.action_secret or not result.confirmed:
        status = "action_required" if result.action_secret else "pending"
        detail = checkout_service.CONFIRMING if not result.action_secret else "Confirm the payment with your bank."
        body = {
            "order_id": result.attempt_id,
            "status": status,
            "detail": detail,
            "action_secret": result.action_secret,
        }
        return {**body, "invoices": [], "subscriptions": []}, 202
    _, placed = checkout_service.completed(user_id, result.attempt_id)
    invoices = [invoice_service.get_for_user(user_id, i.id) for i in placed]  # with their lines
    ids = {i.subscription_id for i in invoices}
    subscriptions = [s for s in subscription_service.for_user(user_id) if s.id in ids]
    detail = "Paid. Your receipt is on its way by email."
    return {
        "order_id": result.attempt_id,
        "status": "paid",
        "detail": detail,
        "action_secret": None,
        "invoices": invoices,
        "subscriptions": subscriptions,
    }, 201


@blp.route("/<uuid:subscription_id>/cancel", methods=["POST"])
@blp.auth("billing")
@blp.arguments(bs.CancelIn)
@blp.errors(404, 409)
@blp.response(200, bs.SubscriptionActionOut)
def cancel(data: dict[str, Any], subscription_id: uuid.UUID) -> dict[str, Any]:
    """Cancel now, or at the end of the paid period (the default)."""
    when = subscription_service.CancelWhen(data["when"])
    sub, message = subscription_service.cancel(current_token().user, subscription_id, when)
    return {"message": message, "subscription": sub}


@blp.route("/<uuid:subscription_id>/resume", methods=["POST"])
@blp.auth("billing")
@blp.errors(404, 409)
@blp.response(200, bs.SubscriptionActionOut)
def resume(subscription_id: uuid.UUID) -> dict[str, Any]:
    """Undo a cancellation planned for the period end, or end a pause."""
    sub, message = subscription_service.resume(current_token().user, subscription_id)
    return {"message": message, "subscription": sub}


@blp.route("/<uuid:subscription_id>/change", methods=["GET"])
@blp.auth("read")
@blp.arguments(bs.ChangeQuery, location="query")
@blp.errors(404, 409)
@blp.response(200, bs.PreviewOut)
def preview_change(args: dict[str, Any], subscription_id: uuid.UUID) -> plan_change_service.Preview:
    """What switching to `plan_id` credits, charges and when: POST its fingerprint to apply exactly that."""
    return plan_change_service.preview(current_token().user, subscription_id, args["plan_id"])


@blp.route("/<uuid:subscription_id>/change", methods=["POST"])
@blp.auth("billing")
@idempotent
@blp.arguments(bs.ChangeIn)
@blp.errors(402, 404, 409, 502)
@blp.response(200, bs.ChangeOut)
def change(data: dict[str, Any], subscription_id: uuid.UUID) -> dict[str, Any]:
    """Apply a preview (409 when it no longer holds: preview again). An upgrade charges the card on file."""
    request = plan_change_service.ChangeRequest(
        user_id=current_token().user_id,
        subscription_id=subscription_id,
        plan_id=data["plan_id"],
        quantity=None,  # the seats stay as they are (the API takes no seat count yet)
        idempotency_key=service_key("change"),
        fingerprint=data["fingerprint"],
        at=data["previewed_at"],
    )
    result = plan_change_service.change(request)
    record = result.change
    return {"change_id": record.id, "status": record.status, "confirmed": result.confirmed, "message": result.message}
