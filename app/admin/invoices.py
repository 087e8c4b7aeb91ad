"""Admin invoices: the filtered list and its CSV, one invoice (lines, payments, credit notes), its PDF,
and the money actions (mark paid, void, refund), which the billing services lock, audit and commit."""

from __future__ import annotations

import uuid

from flask import make_response
from flask.typing import ResponseReturnValue

from app.admin import bp, queries
from app.admin.forms import RefundForm
from app.admin.money_lists import MoneyList
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.billing.pdf import render_invoice_pdf
from app.billing.services import adjustments
from app.errors import NotFound
from app.models.billing import INVOICE_KINDS, INVOICE_STATUSES, Invoice
from app.money import format_money, to_major
from app.web import render_form, see_other, service_errors

INVOICES = MoneyList(
    endpoint="admin.invoices_list",
    template="admin/invoices.html",
    model=Invoice,
    query=queries.invoices,
    sorts=queries.INVOICE_SORTS,
    default_sort="issued_at",
    statuses=INVOICE_STATUSES,
    kinds=INVOICE_KINDS,
    any_kind="Invoices and credit notes",
    kind_label=lambda kind: kind.replace("_", " ").capitalize() + "s",
    csv_name="invoices.csv",
    csv_columns={
        "number": lambda r: r[0].number,
        "kind": lambda r: r[0].kind,
        "status": lambda r: r[0].status,
        "customer": lambda r: r[1].username,
        "email": lambda r: r[1].email,
        "issued_at": lambda r: r[0].issued_at,
        "due_at": lambda r: r[0].due_at,
        "paid_at": lambda r: r[0].paid_at,
        "payment_method": lambda r: r[0].payment_method,
        "currency": lambda r: r[0].currency,
        "subtotal": lambda r: r[0].subtotal,
        "discount": lambda r: r[0].discount,
        "fee": lambda r: r[0].fee,
        "total": lambda r: r[0].total,
    },
)


@bp.get("/invoices")
@permission_required("billing.view")
def invoices_list() -> ResponseReturnValue:
    return INVOICES.show()


@bp.get("/invoices.csv")
@permission_required("billing.manage")
def invoices_export() -> ResponseReturnValue:
    return INVOICES.export()


def _detail(invoice_id: uuid.UUID, form: RefundForm | None = None) -> ResponseReturnValue:
    detail = queries.invoice_detail(invoice_id)
    # The amount field starts at what is left to refund, in the currency's major unit ("53.90").
    form = form or RefundForm(amount=str(to_major(detail.remaining, detail.invoice.currency)))
    return render_form("admin/invoice_detail.html", form, detail=detail)


@bp.get("/invoices/<uuid:invoice_id>")
@permission_required("billing.view")
def invoices_detail(invoice_id: uuid.UUID) -> ResponseReturnValue:
    return _detail(invoice_id)


@bp.get("/invoices/<uuid:invoice_id>.pdf")
@permission_required("billing.view")
def invoices_pdf(invoice_id: uuid.UUID) -> ResponseReturnValue:
    invoice = queries.invoice(invoice_id)
    if invoice.status == "draft":
        raise NotFound("A draft has no PDF until it is finalized.")
    response = make_response(render_invoice_pdf(invoice, queries.original_number(invoice)))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _back(invoice_id: uuid.UUID, message: str) -> ResponseReturnValue:
    return see_other("admin.invoices_detail", message=message, invoice_id=invoice_id)


@bp.post("/invoices/<uuid:invoice_id>/mark-paid")
@permission_required("billing.manage")
def invoices_mark_paid(invoice_id: uuid.UUID) -> ResponseReturnValue:
    invoice = adjustments.mark_invoice_paid(invoice_id, staff_id())
    return _back(invoice_id, f"{invoice.number} is marked paid.")


@bp.post("/invoices/<uuid:invoice_id>/void")
@permission_required("billing.manage")
def invoices_void(invoice_id: uuid.UUID) -> ResponseReturnValue:
    invoice = adjustments.void_invoice(invoice_id, staff_id())
    return _back(invoice_id, f"{invoice.number} is void. Its number stays taken.")


@bp.post("/invoices/<uuid:invoice_id>/refund")
@permission_required("billing.refund")
def invoices_refund(invoice_id: uuid.UUID) -> ResponseReturnValue:
    form = RefundForm()
    if form.validate_on_submit():
        # Bad input, Stripe refusing or not answering: said beside the amount, with the page as it now is.
        with service_errors(form):
            note = adjustments.refund_invoice(invoice_id, staff_id(), **form.command())
            sent = "Refunded" if note.status == "paid" else "Refund sent"
            return _back(
                invoice_id, f"{sent}: {format_money(note.total, note.currency)}, credit note {note.number} issued."
            )
    if getattr(form, "status", None) != 502:  # refused or bad input: a corrected submit is a refund of its own
        form.key.data = str(uuid.uuid4())  # (502: the same form again retries the refund it recorded)
    return _detail(invoice_id, form)
