"""Paying an open invoice now, from the emailed link, the notification or My invoices. Another user's is a 404."""

from __future__ import annotations

import secrets

from flask import flash, render_template
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.billing import bp
from app.billing import invoices as invoice_service
from app.billing.forms import ConfirmPaymentForm, PayInvoiceForm, card_entry, first_errors
from app.billing.routes import back_to
from app.billing.services import invoice_payments as service
from app.billing.services import payment_methods
from app.errors import Conflict, ExternalServiceError, NotFound, PaymentDeclined, ValidationError
from app.models.billing import Invoice

bp.add_app_template_global(service.is_payable, "invoice_payable")


def _page(
    invoice: Invoice, status: int = 200, errors: dict[str, str] | None = None, message: str = ""
) -> tuple[str, int]:
    """The pay page with a new idempotency key (a declined attempt is done; the next one is another)."""
    page = render_template(
        "billing/pay_invoice.html",
        invoice=invoice,
        card=payment_methods.default_for(current_user.id),
        setup=payment_methods.new_setup(current_user),
        idempotency_key=secrets.token_urlsafe(24),
        errors=errors or {},
        message=message,
    )
    return page, status


def _done(result: service.PayResult, key: str) -> Response | tuple[str, int]:
    if result.status == "requires_action":
        key = result.page_key or key
        page = render_template("billing/pay_invoice_confirm.html", invoice=result.invoice, result=result, key=key)
        return page, 200
    if result.status == "paid":
        flash(f"{result.invoice.number} is paid. Thank you!", "success")
    else:
        flash(result.message, "info")
    return back_to("billing.invoice", invoice_id=result.invoice.id)


def _not_open(invoice: Invoice) -> Response:
    flash(service.NOT_OPEN if invoice.status != "paid" else f"{invoice.number} is already paid.", "info")
    return back_to("billing.invoice", invoice_id=invoice.id)


@bp.get("/invoices/<invoice_id>/pay")
@login_required
def pay_invoice(invoice_id: str) -> Response | tuple[str, int]:
    invoice = invoice_service.get_for_user(current_user.id, invoice_id)
    if not service.is_payable(invoice):
        return _not_open(invoice)
    return _page(invoice)


@bp.post("/invoices/<invoice_id>/pay")
@login_required
def submit_payment(invoice_id: str) -> Response | tuple[str, int]:
    invoice = invoice_service.get_for_user(current_user.id, invoice_id)
    form = PayInvoiceForm()
    if not form.validate():
        return _page(invoice, 400, first_errors(form))
    request = service.PayRequest(invoice.id, form.idempotency_key.data, card_entry(form), form.setup_intent.data)
    try:
        result = service.pay(current_user, request)
    except ValidationError as exc:
        return _page(invoice, 400, exc.errors)
    except (NotFound, PaymentDeclined) as exc:
        status = 402 if isinstance(exc, PaymentDeclined) else 400
        return _page(invoice_service.get_for_user(current_user.id, invoice_id), status, {"card": exc.message})
    except Conflict as exc:
        invoice = invoice_service.get_for_user(current_user.id, invoice_id)
        if not service.is_payable(invoice):
            return _not_open(invoice)
        return _page(invoice, 409, message=exc.message)
    except ExternalServiceError as exc:
        return _page(invoice, 503, message=exc.message)
    return _done(result, form.idempotency_key.data)


@bp.post("/invoices/<invoice_id>/pay/confirm")
@login_required
def confirm_payment(invoice_id: str) -> Response | tuple[str, int]:
    """After the bank's confirmation in the browser (3-D Secure): the outcome, from the gateway."""
    invoice = invoice_service.get_for_user(current_user.id, invoice_id)
    form = ConfirmPaymentForm()
    if not form.validate():
        return _page(invoice, 400, first_errors(form)) if service.is_payable(invoice) else _not_open(invoice)
    try:
        result = service.confirm(current_user, invoice.id, form.idempotency_key.data)
    except PaymentDeclined as exc:
        return _page(invoice_service.get_for_user(current_user.id, invoice_id), 402, {"card": exc.message})
    return _done(result, form.idempotency_key.data)
