"""Admin invoices: the filtered list and its CSV, one invoice (lines, payments, credit notes), its PDF,
and the money actions (mark paid, void, refund), which the billing services lock, audit and commit."""

import uuid

import sqlalchemy as sa
from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.admin import bp
from app.admin.billing_lists import INVOICE_SORTS, count_without_user_join, invoices_query
from app.admin.listing import paginate, stream_csv
from app.auth.permissions import permission_required
from app.billing import adjustments
from app.billing.pdf import render_invoice_pdf
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models.billing import INVOICE_KINDS, INVOICE_STATUSES, Invoice, Transaction
from app.models.user import User
from app.templating import render_page


@bp.get("/invoices")
@permission_required("billing.view")
def invoices_list():
    query, args, errors = invoices_query()
    listing = paginate(
        query,
        endpoint="admin.invoices_list",
        sorts=INVOICE_SORTS,
        default_sort="issued_at",
        args=args,
        scalars=False,
        tiebreak=Invoice.id,
        count_query=count_without_user_join(query, Invoice),
    )
    return render_page(
        "admin/invoices.html",
        block="results",
        listing=listing,
        args=args,
        errors=errors,
        statuses=INVOICE_STATUSES,
        kinds=INVOICE_KINDS,
    ), 400 if errors else 200


@bp.get("/invoices.csv")
@permission_required("billing.manage")
def invoices_export():
    query, _, errors = invoices_query()
    if errors:
        raise ValidationError({next(iter(errors)): next(iter(errors.values()))})
    return stream_csv(
        "invoices.csv",
        [
            "number",
            "kind",
            "status",
            "customer",
            "email",
            "issued_at",
            "due_at",
            "paid_at",
            "payment_method",
            "currency",
            "subtotal",
            "discount",
            "fee",
            "total",
        ],
        query.order_by(Invoice.issued_at.desc(), Invoice.id),
        lambda r: (
            r[0].number,
            r[0].kind,
            r[0].status,
            r[1].username,
            r[1].email,
            r[0].issued_at,
            r[0].due_at,
            r[0].paid_at,
            r[0].payment_method,
            r[0].currency,
            r[0].subtotal,
            r[0].discount,
            r[0].fee,
            r[0].total,
        ),
    )


def _invoice(invoice_id: uuid.UUID) -> Invoice:
    invoice = db.session.scalar(sa.select(Invoice).options(selectinload(Invoice.lines)).where(Invoice.id == invoice_id))
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def _detail(invoice_id: uuid.UUID, errors: dict | None = None, status: int = 200):
    invoice = _invoice(invoice_id)
    customer = db.session.get(User, invoice.user_id)
    related = db.session.scalars(
        sa.select(Invoice)
        .where(sa.or_(Invoice.original_invoice_id == invoice.id, Invoice.id == invoice.original_invoice_id))
        .order_by(Invoice.issued_at)
    ).all()
    credit_notes = [i for i in related if i.original_invoice_id == invoice.id]
    original = next((i for i in related if i.id == invoice.original_invoice_id), None)
    transactions = []
    if invoice.transaction_id:
        transactions = db.session.scalars(
            sa.select(Transaction)
            .where(sa.or_(Transaction.id == invoice.transaction_id, Transaction.parent_id == invoice.transaction_id))
            .order_by(Transaction.created_at)
        ).all()
    return render_template(
        "admin/invoice_detail.html",
        invoice=invoice,
        customer=customer,
        credit_notes=credit_notes,
        original=original,
        transactions=transactions,
        errors=errors or {},
        form=request.form,
    ), status


@bp.get("/invoices/<uuid:invoice_id>")
@permission_required("billing.view")
def invoices_detail(invoice_id: uuid.UUID):
    return _detail(invoice_id)


@bp.get("/invoices/<uuid:invoice_id>.pdf")
@permission_required("billing.view")
def invoices_pdf(invoice_id: uuid.UUID):
    invoice = _invoice(invoice_id)
    if invoice.status == "draft":
        raise NotFound("A draft has no PDF until it is finalized.")
    original = db.session.get(Invoice, invoice.original_invoice_id) if invoice.original_invoice_id else None
    response = make_response(render_invoice_pdf(invoice, original.number if original else None))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _back(invoice_id: uuid.UUID, message: str):
    flash(message, "success")
    return redirect(url_for("admin.invoices_detail", invoice_id=invoice_id), 303)


@bp.post("/invoices/<uuid:invoice_id>/mark-paid")
@permission_required("billing.manage")
def invoices_mark_paid(invoice_id: uuid.UUID):
    invoice = adjustments.mark_invoice_paid(invoice_id, current_user.id)
    return _back(invoice_id, f"{invoice.number} is marked paid.")


@bp.post("/invoices/<uuid:invoice_id>/void")
@permission_required("billing.manage")
def invoices_void(invoice_id: uuid.UUID):
    invoice = adjustments.void_invoice(invoice_id, current_user.id)
    return _back(invoice_id, f"{invoice.number} is void. Its number stays taken.")


@bp.post("/invoices/<uuid:invoice_id>/refund")
@permission_required("billing.refund")
def invoices_refund(invoice_id: uuid.UUID):
    try:
        note = adjustments.refund_invoice(invoice_id, current_user.id, request.form.get("reason", "")[:2000])
    except ValidationError as exc:
        db.session.rollback()
        return _detail(invoice_id, {exc.field or "reason": exc.message}, 400)
    return _back(invoice_id, f"Refunded: credit note {note.number} issued.")
