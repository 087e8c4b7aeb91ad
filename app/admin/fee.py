"""The fee page: the platform fee (current, history, the form that changes it) and the seller details
printed on invoices (the second form). Both need fee.manage."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from app.admin import bp, queries, services
from app.admin.forms import FeeForm, SellerForm
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.web import render_form, see_other, service_errors


def _page(
    posted: FlaskForm, *, fee_form: FeeForm | None = None, seller_form: SellerForm | None = None
) -> ResponseReturnValue:
    """The page; `posted` (the form just sent, if any) keeps what was typed, its errors and status."""
    page = queries.fee_page()
    # The other form is not the one posted: it reads nothing from this request (formdata=None).
    fee_form = fee_form or FeeForm(formdata=None)
    seller_form = seller_form or SellerForm(formdata=None, data=page.seller.as_dict())
    return render_form("admin/fee.html", posted, page=page, fee_form=fee_form, seller_form=seller_form)


@bp.get("/fee")
@permission_required("fee.manage")
def fee() -> ResponseReturnValue:
    return _page(FeeForm(formdata=None))


@bp.post("/fee")
@permission_required("fee.manage")
def fee_update() -> ResponseReturnValue:
    form = FeeForm()
    if form.validate_on_submit():
        with service_errors(form):
            change = services.set_fee(actor_id=staff_id(), **form.command())
            return see_other("admin.fee", message=f"The platform fee is now {change.new_percent}%.")
    return _page(form, fee_form=form)


@bp.post("/fee/seller")
@permission_required("fee.manage")
def seller_update() -> ResponseReturnValue:
    form = SellerForm()
    if form.validate_on_submit():
        with service_errors(form):
            services.set_seller_details(actor_id=staff_id(), **form.command())
            return see_other("admin.fee", message="Seller details saved. Invoices numbered from now on show them.")
    return _page(form, seller_form=form)
