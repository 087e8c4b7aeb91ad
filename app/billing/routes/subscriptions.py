"""My subscriptions: the list (with any scheduled plan change), trials, auto-renew, cancel, pause, resume, the card."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.billing import bp, timeline
from app.billing import invoices as invoice_service
from app.billing.forms import (
    AutoRenewForm,
    CancelForm,
    CardForm,
    PauseForm,
    TrialForm,
    card_entry,
    parse_id,
    require_valid,
)
from app.billing.routes import back_to, wants_fragment
from app.billing.services import cart as cart_service
from app.billing.services import payment_methods
from app.billing.services import plan_changes as plan_change_service
from app.billing.services import subscriptions as service
from app.errors import NotFound, PaymentDeclined, ValidationError
from app.models.billing import Subscription
from app.templating import render_page
from app.web import see_other, service_errors


@bp.get("/subscriptions/")
@login_required
def subscriptions() -> str:
    return _subscriptions_page()


def _subscriptions_page(**context: Any) -> str:
    subs = service.for_user(current_user.id)
    return render_page(
        "billing/subscriptions.html",
        subscriptions=subs,
        invoices=invoice_service.by_subscription([s.id for s in subs]),
        card=payment_methods.default_for(current_user.id),
        **context,
        scheduled_changes=plan_change_service.scheduled_by_subscription([s.id for s in subs]),
    )


@bp.get("/subscriptions/trial")
@login_required
def trial() -> str:
    """A plan's trial, before it starts: its questions (or just the button), or why there is none to start."""
    offer = service.trial_offer(current_user, parse_id(request.args.get("plan_id")))
    template = "billing/trial_refused.html" if offer.kind == "refused" else "billing/trial_answers.html"
    return render_template(template, result=offer)


@bp.post("/subscriptions/trial")
@login_required
def start_trial() -> Response | tuple[str, int, dict[str, str]]:
    form = TrialForm()
    require_valid(form)
    # The product's questions are named by its schema; the service checks them.
    answers = {k: v for k, v in request.form.items() if k not in form} if form.answers_submitted.data else None
    result = service.start_trial(current_user, parse_id(form.plan_id.data), answers)
    if result.kind == "needs_answers" and result.errors:
        # The answers again, beside their messages; the address bar gets the questions' own page (a GET).
        page = url_for("billing.trial", plan_id=result.plan.id)
        return render_template("billing/trial_answers.html", result=result), 400, {"HX-Push-Url": page}
    if result.kind != "started":  # the questions to answer, or why no trial: pages of their own, so a reload works
        return see_other("billing.trial", plan_id=result.plan.id)
    cart_service.forget_product(current_user, result.product.id)  # the trial replaces buying it now
    flash(result.message, "success")
    return back_to("billing.subscriptions")


def _card_fragment(sub: Subscription, message: str) -> Response | str:
    """HTMX: the subscription's card, re-rendered; plain forms: back to the list with a flash."""
    if wants_fragment():
        invoices = invoice_service.by_subscription([sub.id])
        scheduled = plan_change_service.scheduled_by_subscription([sub.id])
        return render_page(
            "billing/_subscription.html", sub=sub, invoices=invoices, notice=message, scheduled_changes=scheduled
        )
    flash(message, "success")
    return back_to("billing.subscriptions")


def subscription_id_of(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("We couldn't find that subscription.") from None


@bp.get("/subscriptions/<subscription_id>")
@login_required
def subscription(subscription_id: str) -> str:
    """One subscription: its timeline and its upcoming invoice."""
    sub = service.get_for_user(current_user.id, subscription_id_of(subscription_id))
    return render_page("billing/subscription.html", page=timeline.subscription_page(sub))


@bp.post("/subscriptions/<subscription_id>/auto-renew")
@login_required
def toggle_auto_renew(subscription_id: str) -> Response | str:
    form = AutoRenewForm()
    sid = subscription_id_of(subscription_id)
    require_valid(form)
    sub = service.set_auto_renew(current_user, sid, form.value)
    state = "on" if sub.auto_renew else "off"
    return _card_fragment(sub, f"Auto-renew is {state} for {sub.product.name}.")


@bp.post("/subscriptions/<subscription_id>/cancel")
@login_required
def cancel_subscription(subscription_id: str) -> Response | str:
    form = CancelForm()
    require_valid(form)
    sub, message = service.cancel(current_user, subscription_id_of(subscription_id), form.value)
    return _card_fragment(sub, message)


@bp.post("/subscriptions/<subscription_id>/pause")
@login_required
def pause_subscription(subscription_id: str) -> Response | str | tuple[str, int]:
    sid = subscription_id_of(subscription_id)
    form = PauseForm()
    require_valid(form)  # the CSRF token; the pause's own fields are the service's to judge
    with service_errors(form):
        sub, message = service.pause(current_user, sid, form.length())
        return _card_fragment(sub, message)
    # The card again with the messages beside the pause fields (another customer's id is a 404 here).
    sub = service.owned(current_user, sid)
    status = getattr(form, "status", 400)
    if wants_fragment():
        invoices = invoice_service.by_subscription([sub.id])
        return (
            render_page("billing/_subscription.html", sub=sub, invoices=invoices, pause_form=form, pause_sub_id=sub.id),
            status,
        )
    return _subscriptions_page(pause_form=form, pause_sub_id=sub.id), status


@bp.post("/subscriptions/<subscription_id>/resume")
@login_required
def resume_subscription(subscription_id: str) -> Response | str:
    sub, message = service.resume(current_user, subscription_id_of(subscription_id))
    return _card_fragment(sub, message)


@bp.route("/payment-method", methods=["GET", "POST"])
@login_required
def payment_method() -> Response | tuple[str, int]:
    form = CardForm()
    errors: dict[str, str] = {}
    if request.method == "POST" and form.validate():
        try:
            method = payment_methods.replace_card(current_user, card_entry(form), form.setup_intent.data or "")
        except ValidationError as exc:
            errors = exc.errors
        except PaymentDeclined as exc:
            errors = {"card": exc.message}
        else:
            flash(f"{method.label} will be used for renewals.", "success")
            return back_to("billing.subscriptions")
    card = payment_methods.default_for(current_user.id)
    posted = request.form if request.method == "POST" else {}
    return render_template(
        "billing/payment_method.html",
        card=card,
        errors=errors,
        form=posted,
        card_in_browser=payment_methods.card_in_browser(),
    ), 400 if errors else 200
