"""Invoices: the list, the printable page and the PDF. Another user's invoice is a 404."""

from __future__ import annotations

from flask import current_app, make_response, render_template, request
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.billing import bp, credit
from app.billing import invoices as service
from app.billing.pdf import render_invoice_pdf


@bp.get("/invoices/")
@login_required
def invoices() -> str:
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < len(raw) < 6 else 1
    rows, has_more = service.for_user(current_user.id, page)
    return render_template(
        "billing/invoices.html",
        invoices=rows,
        page=page,
        has_more=has_more,
        balances=credit.balances(current_user.id),
        credit_entries=credit.entries(current_user.id, limit=10),
    )


@bp.get("/invoices/<invoice_id>")
@login_required
def invoice(invoice_id: str) -> str:
    inv = service.get_for_user(current_user.id, invoice_id)
    return render_template(
        "billing/invoice.html",
        invoice=inv,
        original_number=service.original_number(inv),
        seller=service.issued_by(inv),
        bank_details=current_app.config["BANK_TRANSFER_DETAILS"],
    )


@bp.get("/invoices/<invoice_id>.pdf")
@login_required
def invoice_pdf(invoice_id: str) -> Response:
    inv = service.get_for_user(current_user.id, invoice_id)
    response = make_response(render_invoice_pdf(inv, service.original_number(inv)))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{inv.number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
