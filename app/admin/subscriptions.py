"""Admin subscriptions: the filtered list, one subscription, cancel and extend-a-trial actions."""

import uuid

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp
from app.admin.billing_lists import SUBSCRIPTION_SORTS, product_choices, subscriptions_query
from app.admin.listing import paginate
from app.auth.permissions import permission_required
from app.billing import staff_actions
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models.billing import SUBSCRIPTION_STATUSES, Invoice, Subscription
from app.models.catalog import Plan, Product
from app.models.user import User
from app.templating import render_page


@bp.get("/subscriptions")
@permission_required("subscriptions.view")
def subscriptions_list():
    query, args, _ = subscriptions_query()
    listing = paginate(
        query,
        endpoint="admin.subscriptions_list",
        sorts=SUBSCRIPTION_SORTS,
        default_sort="started_at",
        args=args,
        scalars=False,
        tiebreak=Subscription.id,
    )
    return render_page(
        "admin/subscriptions.html",
        block="results",
        listing=listing,
        args=args,
        statuses=SUBSCRIPTION_STATUSES,
        products=product_choices(),
    )


def _detail(subscription_id: uuid.UUID, errors: dict | None = None, status: int = 200):
    row = db.session.execute(
        sa.select(Subscription, User, Product, Plan)
        .join(User, User.id == Subscription.user_id)
        .join(Product, Product.id == Subscription.product_id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.id == subscription_id)
    ).first()
    if row is None:
        raise NotFound("No such subscription.")
    invoices = db.session.scalars(
        sa.select(Invoice)
        .where(Invoice.subscription_id == subscription_id)
        .order_by(Invoice.issued_at.desc().nulls_last())
        .limit(50)
    ).all()
    sub, user, product, plan = row
    return render_template(
        "admin/subscription_detail.html",
        sub=sub,
        user=user,
        product=product,
        plan=plan,
        invoices=invoices,
        errors=errors or {},
        form=request.form,
        max_days=staff_actions.MAX_TRIAL_EXTENSION_DAYS,
    ), status


@bp.get("/subscriptions/<uuid:subscription_id>")
@permission_required("subscriptions.view")
def subscriptions_detail(subscription_id: uuid.UUID):
    return _detail(subscription_id)


@bp.post("/subscriptions/<uuid:subscription_id>/cancel")
@permission_required("subscriptions.manage")
def subscriptions_cancel(subscription_id: uuid.UUID):
    _, message = staff_actions.cancel(subscription_id, request.form.get("when", ""), actor_id=current_user.id)
    flash(message, "success")
    return redirect(url_for("admin.subscriptions_detail", subscription_id=subscription_id), 303)


@bp.post("/subscriptions/<uuid:subscription_id>/extend-trial")
@permission_required("subscriptions.manage")
def subscriptions_extend_trial(subscription_id: uuid.UUID):
    try:
        _, message = staff_actions.extend_trial(subscription_id, request.form.get("days"), actor_id=current_user.id)
    except ValidationError as exc:
        db.session.rollback()
        return _detail(subscription_id, {exc.field or "days": exc.message}, 400)
    flash(message, "success")
    return redirect(url_for("admin.subscriptions_detail", subscription_id=subscription_id), 303)
