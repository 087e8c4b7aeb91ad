"""Coupons: the list (with each one's codes and redemptions), a new coupon with its first code, another code
for a coupon, deactivate.
Need catalog.manage, like the products and plans whose prices they change."""

from __future__ import annotations

import uuid

from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from app.admin import bp, queries
from app.admin.forms import CodeForm, CouponForm
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.billing import coupons
from app.web import render_form, see_other, service_errors

PERMISSION = "catalog.manage"


def _page(form: CouponForm, code_form: CodeForm | None = None) -> ResponseReturnValue:
    form.products.choices = [SelectChoice(value, label) for value, label in queries.product_choices()]
    listing = coupons.listing()
    code_form = code_form or CodeForm(formdata=None, prefix="add")
    code_form.coupon.choices = [
        SelectChoice(str(c.id), f"{', '.join(x.code for x in c.codes)} — {coupons.describe(c)}")
        for c in listing
        if c.active
    ]
    # A refused new code answers with its own status (the new-coupon form is blank then).
    status = getattr(code_form, "status", None) or (400 if code_form.errors else None)
    return render_form(
        "admin/coupons.html", form, status, code_form=code_form, coupons=listing, describe=coupons.describe
    )


@bp.get("/coupons")
@permission_required(PERMISSION)
def coupons_list() -> ResponseReturnValue:
    return _page(CouponForm(formdata=None))


@bp.post("/coupons")
@permission_required(PERMISSION)
def coupon_create() -> ResponseReturnValue:
    form = CouponForm()
    if form.validate_on_submit():
        with service_errors(form):
            code = coupons.create(form.command(), actor_id=staff_id())
            return see_other("admin.coupons_list", message=f"Coupon created with the code {code.code}.")
    return _page(form)


@bp.post("/coupons/codes")
@permission_required(PERMISSION)
def coupon_add_code() -> ResponseReturnValue:
    form = CodeForm(prefix="add")
    if form.validate_on_submit():
        with service_errors(form):
            code = coupons.add_code(form.coupon_id(), form.command(), actor_id=staff_id())
            return see_other("admin.coupons_list", message=f"Code {code.code} added to the coupon.")
    return _page(CouponForm(formdata=None), form)


@bp.post("/coupons/<uuid:coupon_id>/deactivate")
@permission_required(PERMISSION)
def coupon_deactivate(coupon_id: uuid.UUID) -> ResponseReturnValue:
    coupon = coupons.deactivate(coupon_id, actor_id=staff_id())
    return see_other("admin.coupons_list", message=f"Coupon {coupon.name} deactivated: its codes no longer apply.")
