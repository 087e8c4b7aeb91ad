"""A product's plans: add, edit, retire or restore, delete (only if nobody ever subscribed)."""

from __future__ import annotations

import uuid

from flask import request
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from app.admin import bp, queries, services
from app.admin.forms import PlanForm
from app.admin.products import PERMISSION
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.catalog import services as catalog
from app.models.catalog import BILLING_CYCLES, CYCLE_LABELS, Plan, Product
from app.money import minor_exponent, to_major
from app.web import render_form, see_other, service_errors

CURRENCIES = ("USD", "EUR", "GBP", "INR", "JPY")


def _form(plan: Plan | None, subscribers: int) -> PlanForm:
    """The form as posted, or (on GET) filled in from the plan; a plan people pay keeps its cycle."""
    if request.method == "POST" or plan is None:
        form = PlanForm()
    else:
        exponent = minor_exponent(plan.currency)
        form = PlanForm(
            data={
                "name": plan.name,
                "billing_cycle": plan.billing_cycle,
                "price": f"{to_major(plan.price, plan.currency):.{exponent}f}",
                "currency": plan.currency,
                "discount_percent": f"{plan.discount_percent.normalize():f}",
                "trial_days": str(plan.trial_days),
                "per_seat": plan.per_seat,
                "min_seats": str(plan.min_seats),
                "max_seats": str(plan.max_seats),
                "features": "\n".join(plan.features or []),
                "sort_order": str(plan.sort_order),
                "is_active": plan.is_active,
            }
        )
    locked = subscribers > 0
    form.billing_cycle.choices = [
        SelectChoice(
            c, CYCLE_LABELS[c], render_kw={"disabled": True} if locked and c != form.billing_cycle.data else {}
        )
        for c in BILLING_CYCLES
    ]
    return form


def _page(product: Product, plan: Plan | None, form: PlanForm, subscribers: int) -> ResponseReturnValue:
    return render_form(
        "admin/plan_form.html",
        form,
        product=product,
        plan=plan,
        subscribers=subscribers,
        currencies=CURRENCIES,
        terms=catalog.TERMS,
    )


def _subscribers(product_id: uuid.UUID, plan: Plan | None) -> int:
    return catalog.subscription_counts(product_id)[1].get(plan.id, 0) if plan else 0


@bp.get("/products/<uuid:product_id>/plans/new")
@permission_required(PERMISSION)
def plans_new(product_id: uuid.UUID) -> ResponseReturnValue:
    return _page(queries.product(product_id), None, _form(None, 0), 0)


@bp.get("/products/<uuid:product_id>/plans/<uuid:plan_id>")
@permission_required(PERMISSION)
def plans_edit(product_id: uuid.UUID, plan_id: uuid.UUID) -> ResponseReturnValue:
    plan = queries.plan(product_id, plan_id)
    subscribers = _subscribers(product_id, plan)
    return _page(queries.product(product_id), plan, _form(plan, subscribers), subscribers)


@bp.post("/products/<uuid:product_id>/plans/new", defaults={"plan_id": None})
@bp.post("/products/<uuid:product_id>/plans/<uuid:plan_id>")
@permission_required(PERMISSION)
def plans_save(product_id: uuid.UUID, plan_id: uuid.UUID | None) -> ResponseReturnValue:
    product = queries.product(product_id)
    plan = queries.plan(product_id, plan_id) if plan_id else None
    subscribers = _subscribers(product_id, plan)
    form = _form(plan, subscribers)
    if form.validate_on_submit():
        with service_errors(form):
            saved = services.save_plan(product_id, plan_id, form.values(), actor_id=staff_id())
            return see_other(
                "admin.products_edit",
                message=f"The {CYCLE_LABELS[saved.billing_cycle].lower()} plan “{saved.name}” is saved.",
                product_id=product_id,
                _anchor="plans",
            )
    return _page(product, plan, form, subscribers)


@bp.post("/products/<uuid:product_id>/plans/<uuid:plan_id>/retire", endpoint="plans_retire", defaults={"active": False})
@bp.post(
    "/products/<uuid:product_id>/plans/<uuid:plan_id>/restore", endpoint="plans_restore", defaults={"active": True}
)
@permission_required(PERMISSION)
def plans_set_active(product_id: uuid.UUID, plan_id: uuid.UUID, active: bool) -> ResponseReturnValue:
    plan, changed = services.set_plan_active(product_id, plan_id, active, actor_id=staff_id())
    message = None
    if changed:
        message = (
            f"“{plan.name}” is offered again."
            if active
            else f"“{plan.name}” is retired: no new subscriptions, existing ones go on."
        )
    return see_other("admin.products_edit", message=message, product_id=product_id, _anchor="plans")


@bp.post("/products/<uuid:product_id>/plans/<uuid:plan_id>/delete")
@permission_required(PERMISSION)
def plans_delete(product_id: uuid.UUID, plan_id: uuid.UUID) -> ResponseReturnValue:
    name = services.delete_plan(product_id, plan_id, actor_id=staff_id())
    return see_other(
        "admin.products_edit", message=f"The plan “{name}” is deleted.", product_id=product_id, _anchor="plans"
    )
