"""A product's plans: add, edit, retire or restore, delete (only if nobody ever subscribed)."""

import uuid

from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.admin import bp
from app.admin.products import PERMISSION
from app.auth.permissions import permission_required
from app.catalog import services
from app.errors import NotFound
from app.extensions import db
from app.models.catalog import BILLING_CYCLES, CYCLE_LABELS, Plan, Product
from app.money import minor_exponent, to_major
from app.templating import render_page

FIELDS = ("name", "billing_cycle", "price", "currency", "discount_percent", "trial_days", "features", "sort_order")
CURRENCIES = ("USD", "EUR", "GBP", "INR", "JPY")


def _product(product_id: uuid.UUID) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    return product


def _plan(product_id: uuid.UUID, plan_id: uuid.UUID, *, lock: bool = False) -> Plan:
    plan = db.session.get(Plan, plan_id, with_for_update=lock)
    if plan is None or plan.product_id != product_id:
        raise NotFound("No such plan.")
    return plan


def _form() -> dict:
    return {**{name: request.form.get(name, "") for name in FIELDS}, "is_active": "is_active" in request.form}


def _values(form: dict) -> dict:
    """The form as the catalog service takes it: the price as typed, features one per line."""
    features = [line.strip() for line in form["features"].splitlines() if line.strip()]
    values = {k: v for k, v in form.items() if k not in ("price", "features")}
    return {**values, "amount": form["price"], "features": features}


def _page(product: Product, plan: Plan | None, form: dict, errors: dict | None = None, status: int = 200):
    subscribers = services.subscription_counts(product.id)[1].get(plan.id, 0) if plan else 0
    return render_page(
        "admin/plan_form.html",
        product=product,
        plan=plan,
        form=form,
        errors=errors or {},
        subscribers=subscribers,
        cycles=BILLING_CYCLES,
        cycle_labels=CYCLE_LABELS,
        currencies=CURRENCIES,
        terms=services.TERMS,
    ), status


@bp.get("/products/<uuid:product_id>/plans/new")
@permission_required(PERMISSION)
def plans_new(product_id: uuid.UUID):
    form = {
        **dict.fromkeys(FIELDS, ""),
        "billing_cycle": "monthly",
        "currency": "USD",
        "discount_percent": "0",
        "trial_days": "0",
        "is_active": True,
    }
    return _page(_product(product_id), None, form)


@bp.get("/products/<uuid:product_id>/plans/<uuid:plan_id>")
@permission_required(PERMISSION)
def plans_edit(product_id: uuid.UUID, plan_id: uuid.UUID):
    plan = _plan(product_id, plan_id)
    exponent = minor_exponent(plan.currency)
    form = {
        "name": plan.name,
        "billing_cycle": plan.billing_cycle,
        "price": f"{to_major(plan.price, plan.currency):.{exponent}f}",
        "currency": plan.currency,
        "discount_percent": f"{plan.discount_percent.normalize():f}",
        "trial_days": str(plan.trial_days),
        "features": "\n".join(plan.features or []),
        "sort_order": str(plan.sort_order),
        "is_active": plan.is_active,
    }
    return _page(_product(product_id), plan, form)


@bp.post("/products/<uuid:product_id>/plans/new", defaults={"plan_id": None})
@bp.post("/products/<uuid:product_id>/plans/<uuid:plan_id>")
@permission_required(PERMISSION)
def plans_save(product_id: uuid.UUID, plan_id: uuid.UUID | None):
    product = _product(product_id)
    plan = _plan(product_id, plan_id, lock=True) if plan_id else None
    form = _form()
    try:
        if plan is None:
            saved = services.create_plan(product, actor_id=current_user.id, **_values(form))
        else:
            saved = services.update_plan(plan, product, actor_id=current_user.id, **_values(form))
    except services.CatalogInvalid as exc:
        db.session.rollback()
        return _page(_product(product_id), _plan(product_id, plan_id) if plan_id else None, form, exc.errors, 400)
    flash(f"The {CYCLE_LABELS[saved.billing_cycle].lower()} plan “{saved.name}” is saved.", "success")
    return redirect(url_for("admin.products_edit", product_id=product_id, _anchor="plans"), 303)


@bp.post("/products/<uuid:product_id>/plans/<uuid:plan_id>/retire", endpoint="plans_retire", defaults={"active": False})
@bp.post(
    "/products/<uuid:product_id>/plans/<uuid:plan_id>/restore", endpoint="plans_restore", defaults={"active": True}
)
@permission_required(PERMISSION)
def plans_set_active(product_id: uuid.UUID, plan_id: uuid.UUID, active: bool):
    plan = _plan(product_id, plan_id, lock=True)
    if services.set_active(plan, active, actor_id=current_user.id):
        flash(
            f"“{plan.name}” is offered again."
            if active
            else f"“{plan.name}” is retired: no new subscriptions, existing ones go on.",
            "success",
        )
    return redirect(url_for("admin.products_edit", product_id=product_id, _anchor="plans"), 303)


@bp.post("/products/<uuid:product_id>/plans/<uuid:plan_id>/delete")
@permission_required(PERMISSION)
def plans_delete(product_id: uuid.UUID, plan_id: uuid.UUID):
    _plan(product_id, plan_id)
    name = services.delete_plan(plan_id, actor_id=current_user.id)
    flash(f"The plan “{name}” is deleted.", "success")
    return redirect(url_for("admin.products_edit", product_id=product_id, _anchor="plans"), 303)
