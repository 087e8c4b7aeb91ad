"""Products: list, create, edit, retire or restore, delete (only if nobody ever subscribed), the schema editor."""

import uuid

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import defer

from app.admin import bp
from app.admin.listing import arg_choice, arg_q, like_pattern, paginate
from app.auth.permissions import permission_required
from app.catalog import services
from app.catalog.schema import fields as schema_fields
from app.catalog.schema import read_schema, schema_text
from app.errors import NotFound
from app.extensions import db
from app.models.billing import Subscription
from app.models.catalog import BILLING_CYCLES, Plan, Product
from app.templating import render_page

PERMISSION = "catalog.manage"
STATUSES = ("active", "retired")
FIELDS = ("slug", "name", "tagline", "description", "category", "icon", "product_schema")


def _per_product(*conditions):
    return sa.select(sa.func.count()).where(*conditions).correlate(Product).scalar_subquery()


# Counted in the page query itself, so a page of 25 products costs one statement, not 26.
PLANS = _per_product(Plan.product_id == Product.id).label("plans")
LIVE_PLANS = _per_product(Plan.product_id == Product.id, Plan.is_active.is_(True)).label("live_plans")
SUBSCRIPTIONS = _per_product(Subscription.product_id == Product.id).label("subscriptions")
SORTS = {
    "name": sa.func.lower(Product.name),
    "category": sa.func.lower(Product.category),
    "plans": PLANS,
    "subscriptions": SUBSCRIPTIONS,
    "updated_at": Product.updated_at,
}


@bp.get("/products")
@permission_required(PERMISSION)
def products_list():
    q = arg_q()
    categories = db.session.scalars(sa.select(Product.category).distinct().order_by(Product.category)).all()
    category = arg_choice("category", categories)
    status = arg_choice("status", STATUSES)
    query = sa.select(Product, PLANS, LIVE_PLANS, SUBSCRIPTIONS).options(
        defer(Product.description, raiseload=True), defer(Product.product_schema, raiseload=True)
    )
    if q:
        pattern = like_pattern(q.lower())
        query = query.where(
            sa.or_(
                *(
                    sa.func.lower(column).like(pattern, escape="\\")
                    for column in (Product.name, Product.slug, Product.tagline)
                )
            )
        )
    if category:
        query = query.where(Product.category == category)
    if status:
        query = query.where(Product.is_active.is_(status == "active"))
    args = {"q": q, "category": category, "status": status}
    listing = paginate(
        query,
        endpoint="admin.products_list",
        sorts=SORTS,
        default_sort="name",
        default_direction="asc",
        args=args,
        scalars=False,
        tiebreak=Product.id,
    )
    return render_page("admin/products.html", block="results", listing=listing, categories=categories, args=args)


def _product(product_id: uuid.UUID, *, lock: bool = False) -> Product:
    product = db.session.get(Product, product_id, with_for_update=lock)
    if product is None:
        raise NotFound("No such product.")
    return product


def schema_preview(text: str) -> dict:
    """What the editor shows under a schema: check_schema's messages, or the checkout form it produces."""
    schema, problems = read_schema(text)
    return {"problems": problems, "preview_fields": [] if problems else schema_fields(schema)}


def _form() -> dict:
    return {**{name: request.form.get(name, "") for name in FIELDS}, "is_active": "is_active" in request.form}


def _values(form: dict) -> dict:
    """The form as the catalog service takes it: the schema as typed."""
    return {**{k: v for k, v in form.items() if k != "product_schema"}, "schema_json": form["product_schema"]}


def _editor(product: Product | None, form: dict, error: services.CatalogInvalid | None = None, status: int = 200):
    plans, per_plan = [], {}
    subscriptions = 0
    if product is not None:
        cycle_order = sa.case({c: n for n, c in enumerate(BILLING_CYCLES)}, value=Plan.billing_cycle)
        plans = db.session.scalars(
            sa.select(Plan).where(Plan.product_id == product.id).order_by(Plan.sort_order, Plan.name, cycle_order)
        ).all()
        subscriptions, per_plan = services.subscription_counts(product.id)
    categories = db.session.scalars(sa.select(Product.category).distinct().order_by(Product.category)).all()
    return render_page(
        "admin/product_form.html",
        product=product,
        form=form,
        plans=plans,
        per_plan=per_plan,
        subscriptions=subscriptions,
        categories=categories,
        errors=error.errors if error else {},
        schema_problems=error.schema_problems if error else [],
        **schema_preview(form["product_schema"]),
    ), status


@bp.get("/products/new")
@permission_required(PERMISSION)
def products_new():
    return _editor(None, {**dict.fromkeys(FIELDS, ""), "is_active": True})


@bp.get("/products/<uuid:product_id>")
@permission_required(PERMISSION)
def products_edit(product_id: uuid.UUID):
    product = _product(product_id)
    form = {name: getattr(product, name) or "" for name in FIELDS if name != "product_schema"}
    return _editor(
        product, {**form, "product_schema": schema_text(product.product_schema), "is_active": product.is_active}
    )


@bp.post("/products/new", defaults={"product_id": None})
@bp.post("/products/<uuid:product_id>")
@permission_required(PERMISSION)
def products_save(product_id: uuid.UUID | None):
    """Create or update; "Preview" (the no-JavaScript way to check a schema) re-renders without saving."""
    form = _form()
    preview = request.form.get("intent") == "preview"
    product = _product(product_id, lock=not preview) if product_id else None
    if preview:
        return _editor(product, form)
    try:
        saved = services.save_product(product, actor_id=current_user.id, **_values(form))
    except services.CatalogInvalid as exc:
        db.session.rollback()
        return _editor(_product(product_id) if product_id else None, form, exc, 400)
    flash(f"“{saved.name}” is saved." if product else f"“{saved.name}” is created. Now add its plans.", "success")
    return redirect(url_for("admin.products_edit", product_id=saved.id, _anchor=None if product else "plans"), 303)


@bp.post("/products/schema-preview")
@permission_required(PERMISSION)
def products_schema_preview():
    """Checks the schema as it is typed (HTMX): its problems, or a live preview of its checkout form."""
    return render_page(
        "admin/schema_preview.html", block="preview", **schema_preview(request.form.get("product_schema", ""))
    )


@bp.post("/products/<uuid:product_id>/retire", endpoint="products_retire", defaults={"active": False})
@bp.post("/products/<uuid:product_id>/restore", endpoint="products_restore", defaults={"active": True})
@permission_required(PERMISSION)
def products_set_active(product_id: uuid.UUID, active: bool):
    product = _product(product_id, lock=True)
    if services.set_active(product, active, actor_id=current_user.id):
        flash(
            f"“{product.name}” is back in the catalog."
            if active
            else f"“{product.name}” is retired: hidden from the catalog, its subscriptions go on.",
            "success",
        )
    return redirect(url_for("admin.products_edit", product_id=product_id), 303)


@bp.post("/products/<uuid:product_id>/delete")
@permission_required(PERMISSION)
def products_delete(product_id: uuid.UUID):
    name = services.delete_product(product_id, actor_id=current_user.id)
    flash(f"“{name}” and its plans are deleted.", "success")
    return redirect(url_for("admin.products_list"), 303)
