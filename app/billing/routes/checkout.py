"""Checkout: the review page (with its idempotency key) and the submit."""

from __future__ import annotations

import secrets

from flask import current_app, flash, redirect, render_template, request
from flask_login import current_user, login_required

from app.billing import bp
from app.billing import cart as cart_service
from app.billing import checkout as checkout_service
from app.billing import subscriptions as subscription_service
from app.billing.answers import prefix_for
from app.billing.routes import back_to
from app.catalog.schema import fields
from app.templating import render_without_database


def review(status: int = 200, *, key: str | None = None, outcome=None, form=None):
    view = cart_service.view(current_user)
    if not view.lines:
        flash("Your cart is empty.", "info")
        return back_to("billing.cart")
    form = form or {}
    return render_template(
        "billing/checkout.html",
        view=view,
        idempotency_key=key or secrets.token_urlsafe(24),
        review_fingerprint=view.quote.fingerprint(),
        outcome=outcome,
        form=form,
        schema_fields={
            line.entry.product_id: fields(line.product.product_schema) for line in view.lines if line.product
        },
        prefix_for=prefix_for,
        answer_values=_answer_values(view, form),
    ), status


def _answer_values(view, form) -> dict:
    """What to show in each product's questions: what was just posted, else the trial's answers."""
    trials = {s.product_id: s.answers for s in subscription_service.for_user(current_user.id) if s.status == "trial"}
    values = {}
    for line in view.lines:
        if line.product is None:
            continue
        prefix = prefix_for(line.product)
        posted = {name[len(prefix) :]: form.get(name) for name in form.keys() if name.startswith(prefix)}
        values[line.entry.product_id] = posted or trials.get(line.entry.product_id) or {}
    return values


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    if request.method == "GET":
        return review()
    outcome = checkout_service.submit(current_user, request.form)
    if outcome.redirect:
        cart_service.recount(current_user)
        return redirect(outcome.redirect, code=303)
    if outcome.without_database:
        return render_without_database(
            "billing/checkout_pending.html", outcome=outcome, form=request.form
        ), outcome.status
    key = None if outcome.new_key else request.form.get("idempotency_key")
    return review(outcome.status, key=key, outcome=outcome, form=request.form)


@bp.get("/checkout/complete/<attempt_id>")
@login_required
def checkout_complete(attempt_id):
    attempt, invoices = checkout_service.completed(current_user, attempt_id)
    return render_template(
        "billing/checkout_complete.html",
        attempt=attempt,
        invoices=invoices,
        bank_details=current_app.config["BANK_TRANSFER_DETAILS"],
    )
