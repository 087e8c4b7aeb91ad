"""Checkout: the review page (with its idempotency key) and the submit."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app, flash, jsonify, render_template, request
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.billing import bp, credit
from app.billing import invoices as invoice_service
from app.billing.answers import posted_answers, prefix_for
from app.billing.forms import CheckoutBillingForm, CheckoutForm, PromoCodeForm
from app.billing.routes import back_to, wants_fragment
from app.billing.services import cart as cart_service
from app.billing.services import checkout as checkout_service
from app.billing.services import payment_methods as payment_method_service
from app.billing.services import subscriptions as subscription_service
from app.billing.services.cart import CartView
from app.catalog.schema import fields
from app.errors import FORM, Conflict, ExternalServiceError, PaymentDeclined, ValidationError
from app.extensions import limiter
from app.templating import render_without_database
from app.web import see_other

FIX_FIELDS = "Please correct the highlighted fields."
CARD_SETUPS_PER_USER = "20/hour"
CONFIRM_WITH_BANK = "Your bank wants you to confirm this payment. Follow its prompt to finish paying."


@dataclass(frozen=True)
class Notice:
    """Why the review is shown again: the message at the top, and the fields (card, answers) in error."""

    status: int
    message: str
    errors: dict[str, str] = field(default_factory=dict)
    answer_errors: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)


def review(
    status: int = 200,
    *,
    key: str | None = None,
    notice: Notice | None = None,
    posted: Mapping[str, str] | None = None,
    billing: CheckoutBillingForm | None = None,
    action_secret: str | None = None,
    promo_error: str | None = None,
    promo_value: str = "",
) -> Response | tuple[str, int]:
    view = cart_service.view(current_user)
    if not view.lines:
        flash("Your cart is empty.", "info")
        return back_to("billing.cart")
    posted = posted or {}
    billed_to = invoice_service.bill_to(current_user)
    return render_template(
        "billing/checkout.html",
        view=view,
        idempotency_key=key or secrets.token_urlsafe(24),
        review_fingerprint=view.quote.fingerprint(),
        billed_to=billed_to,
        billing_complete=invoice_service.is_complete(billed_to),
        billing_form=billing or CheckoutBillingForm.read(current_user),
        notice=notice,
        fix_fields=FIX_FIELDS,
        form=posted,
        schema_fields={
            line.entry.product_id: fields(line.product.product_schema) for line in view.lines if line.product
        },
        prefix_for=prefix_for,
        answer_values=_answer_values(view, posted),
        card_in_browser=payment_method_service.card_in_browser(),
        action_secret=action_secret,
        promo_error=promo_error,
        promo_value=promo_value,
        promo_message=None,
        credit_applied=_credit_applied(view),
    ), status


def _answer_values(view: CartView, posted: Mapping[str, str]) -> dict[uuid.UUID, Mapping[str, object]]:
    """What to show in each product's questions: what was just posted, else the trial's answers."""
    trials = {s.product_id: s.answers for s in subscription_service.for_user(current_user.id) if s.status == "trial"}
    products = [line.product for line in view.lines if line.product is not None]
    answers = posted_answers(products, posted)
    return {pid: answers[pid] or trials.get(pid) or {} for pid in answers}


def _invalid(errors: Mapping[str, str]) -> Notice:
    """A ValidationError's fields: the card's, and each product's answers (keyed by `answer_error_key`)."""
    card: dict[str, str] = {}
    answers: dict[uuid.UUID, dict[str, str]] = {}
    for key, message in errors.items():
        kind, _, rest = key.partition(":")
        if kind == "answers":
            product_id, _, name = rest.partition(":")
            answers.setdefault(uuid.UUID(product_id), {})[name] = message
        elif key != FORM:
            card[key] = message
    return Notice(400, errors.get(FORM) or FIX_FIELDS, card, answers)


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout() -> Response | tuple[str, int]:
    if request.method == "GET":
        return review()
    form = CheckoutForm()
    billing = CheckoutBillingForm.read(current_user)  # the same rules as the profile's
    posted = request.form
    checkout_valid, billing_valid = form.validate(), billing.validate()
    if not checkout_valid:
        first = next(iter(form.errors.values()))[0]
        return review(400, notice=Notice(400, str(first)), posted=posted, billing=billing)
    key = form.idempotency_key.data
    if not billing_valid:  # the messages beside the billing fields; nothing was charged
        return review(400, key=key, notice=Notice(400, FIX_FIELDS), posted=posted, billing=billing)
    products = cart_service.products(current_user)
    command = form.command(current_user.id, posted_answers(products, posted), billing.details())
    try:
        result = checkout_service.submit(command)
    except checkout_service.NotRecorded as exc:
        return render_without_database("billing/checkout_pending.html", pending=False, message=exc.message), 503
    except ValidationError as exc:
        return review(400, key=key, notice=_invalid(exc.errors), posted=posted, billing=billing)
    except PaymentDeclined as exc:
        notice = Notice(402, exc.message, {exc.field or "card_number": exc.message})
        return review(402, notice=notice, posted=posted, billing=billing)
    except checkout_service.ReviewAgain as exc:
        return review(409, notice=Notice(409, exc.message), posted=posted, billing=billing)
    except Conflict as exc:
        return review(409, key=key, notice=Notice(409, exc.message), posted=posted, billing=billing)
    if result.action_secret:  # the browser confirms with the bank, then sends this same form again
        notice = Notice(202, CONFIRM_WITH_BANK)
        return review(202, key=key, notice=notice, posted=posted, billing=billing, action_secret=result.action_secret)
    if not result.confirmed:
        pending = render_without_database(
            "billing/checkout_pending.html", pending=True, message=checkout_service.CONFIRMING, form=posted
        )
        return pending, 202
    cart_service.recount(current_user)
    return see_other("billing.checkout_complete", attempt_id=result.attempt_id)


@bp.post("/checkout/promo")
@login_required
def checkout_promo() -> Response | tuple[str, int]:
    """Apply or remove a promo code. With HTMX: the promo section, and the order, totals and review
    fingerprint swapped out of band; without: back to the review page (the message beside the field)."""
    form = PromoCodeForm()
    raw = str(form.promo_code.data or "")
    if not form.validate():
        return _promo_answer(400, str(next(iter(form.errors.values()))[0]), raw)
    try:
        if form.action.data == "remove":
            message = cart_service.remove_code(current_user)
        else:
            message = cart_service.apply_code(current_user, raw)
    except ValidationError as exc:
        return _promo_answer(400, exc.errors.get("promo_code") or exc.message, raw)
    if not wants_fragment():
        flash(message, "success")
        return see_other("billing.checkout")
    view = cart_service.view(current_user)
    html = render_template(
        "billing/checkout_promo.html",
        view=view,
        promo_message=message,
        promo_error=None,
        promo_value="",
        changed=True,
        credit_applied=_credit_applied(view),
    )
    return html, 200


def _credit_applied(view: CartView) -> int:
    """What the customer's credit balance pays of this order (the card pays the rest)."""
    return int(min(credit.balance_of(current_user.id, view.quote.currency), view.quote.total))


def _promo_answer(status: int, error: str, raw: str) -> Response | tuple[str, int]:
    """A refused code: the message beside the field; the order, its total and fingerprint are unchanged."""
    if not wants_fragment():
        return review(status, promo_error=error, promo_value=raw)
    view = cart_service.view(current_user)
    html = render_template(
        "billing/checkout_promo.html",
        view=view,
        promo_message=None,
        promo_error=error,
        promo_value=raw,
        changed=False,
        credit_applied=_credit_applied(view),
    )
    return html, status


@bp.get("/checkout/complete/<uuid:attempt_id>")
@login_required
def checkout_complete(attempt_id: uuid.UUID) -> str:
    attempt, invoices = checkout_service.completed(current_user.id, attempt_id)
    return render_template(
        "billing/checkout_complete.html",
        attempt=attempt,
        invoices=invoices,
        bank_details=current_app.config["BANK_TRANSFER_DETAILS"],
    )


def _user_key() -> str:
    return f"card-setup:{current_user.get_id()}"


@bp.post("/payment/card-setup")
@login_required
# Each one is a SetupIntent at Stripe: a card-testing script gets a few per signed-in user, not thousands.
@limiter.limit(CARD_SETUPS_PER_USER, key_func=_user_key)
def card_setup() -> tuple[Response, int]:
    """For the card element (static/js/stripe_card.js): a SetupIntent's client secret, confirmed by the browser."""
    try:
        setup = payment_method_service.start_card_setup(current_user)
    except ExternalServiceError as exc:
        return jsonify(error=exc.message), 502
    except Conflict as exc:
        return jsonify(error=exc.message), 409
    return jsonify(client_secret=setup.client_secret), 200
