"""The platform fee page: the current fee, its history, and the form that changes it."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.admin import bp, queries, services
from app.admin.forms import FeeForm
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.web import render_form, see_other, service_errors


def _page(form: FeeForm) -> ResponseReturnValue:
    return render_form("admin/fee.html", form, page=queries.fee_page())


@bp.get("/fee")
@permission_required("fee.manage")
def fee() -> ResponseReturnValue:
    return _page(FeeForm())


@bp.post("/fee")
@permission_required("fee.manage")
def fee_update() -> ResponseReturnValue:
    form = FeeForm()
    if form.validate_on_submit():
        with service_errors(form):
            change = services.set_fee(actor_id=staff_id(), **form.command())
            return see_other("admin.fee", message=f"The platform fee is now {change.new_percent}%.")
    return _page(form)
