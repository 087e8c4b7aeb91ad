"""Products: list, create, edit, retire or restore, delete (only if nobody ever subscribed), the schema editor."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from app.admin import bp, queries, services
from app.admin.forms import ListFilterForm, ProductForm
from app.admin.listing import paginate
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.catalog import services as catalog
from app.catalog.schema import fields as schema_fields
from app.catalog.schema import read_schema, schema_text
from app.models.catalog import Plan, Product
from app.templating import render_page
from app.web import render_form, see_other, service_errors

PERMISSION = "catalog.manage"


@bp.get("/products")
@permission_required(PERMISSION)
def products_list() -> ResponseReturnValue:
    form = ListFilterForm(request.args)
    form.offer("category", [("", "All categories"), *((c, c) for c in queries.categories())])
    form.offer("status", [("", "Active and retired"), *((s, s.capitalize()) for s in queries.PRODUCT_STATUSES)])
    args = {"q": form.q.data, "category": form.choice("category"), "status": form.choice("status")}
    listing = paginate(
        queries.products(**args),
        endpoint="admin.products_list",
        sorts=queries.PRODUCT_SORTS,
        default_sort="name",
        default_direction="asc",
        args=args,
        scalars=False,
        tiebreak=Product.id,
    )
    return render_page("admin/products.html", block="results", listing=listing, filters=form, args=args)


def schema_preview(text: str) -> dict[str, Any]:
    """What the editor shows under a schema: check_schema's messages, or the checkout form it produces."""
    schema, problems = read_schema(text)
    return {"problems": problems, "preview_fields": [] if problems else schema_fields(schema)}


def _form(product: Product | None) -> ProductForm:
    """The form as posted, or (on GET) filled in from the product."""
    if request.method == "POST" or product is None:
        return ProductForm()
    data = {
        name: getattr(product, name) or "" for name in ("slug", "name", "tagline", "description", "category", "icon")
    }
    return ProductForm(
        data={
            **data,
            "product_schema": schema_text(product.product_schema),
            "is_active": product.is_active,
            "access_while_paused": product.access_while_paused,
            "downgrade_timing": product.downgrade_timing,
        }
    )


def _editor(
    product: Product | None, form: ProductForm, schema_problems: list[str] | None = None
) -> ResponseReturnValue:
    plans: list[Plan] = []
    per_plan: dict[uuid.UUID, int] = {}
    subscriptions = 0
    if product is not None:
        plans = list(queries.plans_of(product.id))
        subscriptions, per_plan = catalog.subscription_counts(product.id)
    return render_form(
        "admin/product_form.html",
        form,
        product=product,
        plans=plans,
        per_plan=per_plan,
        subscriptions=subscriptions,
        categories=queries.categories(),
        schema_problems=schema_problems or [],
        **schema_preview(form.product_schema.data or ""),
    )


@bp.get("/products/new")
@permission_required(PERMISSION)
def products_new() -> ResponseReturnValue:
    return _editor(None, _form(None))


@bp.get("/products/<uuid:product_id>")
@permission_required(PERMISSION)
def products_edit(product_id: uuid.UUID) -> ResponseReturnValue:
    product = queries.product(product_id)
    return _editor(product, _form(product))


@bp.post("/products/new", defaults={"product_id": None})
@bp.post("/products/<uuid:product_id>")
@permission_required(PERMISSION)
def products_save(product_id: uuid.UUID | None) -> ResponseReturnValue:
    """Create or update; "Preview" (the no-JavaScript way to check a schema) re-renders without saving."""
    product = queries.product(product_id) if product_id else None
    form = _form(product)
    schema_problems: list[str] = []
    if form.validate_on_submit() and not form.previewing:
        with service_errors(form):
            try:
                saved = services.save_product(product_id, form.values(), actor_id=staff_id())
            except catalog.CatalogInvalid as exc:
                schema_problems = exc.schema_problems
                raise
            message = f"“{saved.name}” is saved." if product else f"“{saved.name}” is created. Now add its plans."
            return see_other(
                "admin.products_edit", message=message, product_id=saved.id, _anchor=None if product else "plans"
            )
    return _editor(product, form, schema_problems)


@bp.post("/products/schema-preview")
@permission_required(PERMISSION)
def products_schema_preview() -> ResponseReturnValue:
    """Checks the schema as it is typed (HTMX): its problems, or a live preview of its checkout form."""
    return render_page(
        "admin/schema_preview.html", block="preview", **schema_preview(request.form.get("product_schema", ""))
    )


@bp.post("/products/<uuid:product_id>/retire", endpoint="products_retire", defaults={"active": False})
@bp.post("/products/<uuid:product_id>/restore", endpoint="products_restore", defaults={"active": True})
@permission_required(PERMISSION)
def products_set_active(product_id: uuid.UUID, active: bool) -> ResponseReturnValue:
    product, changed = services.set_product_active(product_id, active, actor_id=staff_id())
    message = None
    if changed:
        message = (
            f"“{product.name}” is back in the catalog."
            if active
            else f"“{product.name}” is retired: hidden from the catalog, its subscriptions go on."
        )
    return see_other("admin.products_edit", message=message, product_id=product_id)


@bp.post("/products/<uuid:product_id>/delete")
@permission_required(PERMISSION)
def products_delete(product_id: uuid.UUID) -> ResponseReturnValue:
    name = services.delete_product(product_id, actor_id=staff_id())
    return see_other("admin.products_list", message=f"“{name}” and its plans are deleted.")
