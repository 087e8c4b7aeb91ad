"""Paying an open invoice now, from the emailed link, the notification or My invoices. Another user's is a 404."""

from __future__ import annotations

import secrets

from flask import flash, render_template
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.billing import bp
from app.billing import invoices as invoice_service
from app.billing.forms import PayInvoiceForm, card_entry, first_errors
from app.billing.routes import back_to
from app.billing.services import invoice_payments as service
from app.billing.services import payment_methods
from app.errors import Conflict, ExternalServiceError, NotFound, PaymentDeclined, ValidationError
from app.models.billing import Invoice

bp.add_app_template_global(service.is_payable, "invoice_payable")

CONFIRM_WITH_BANK = "Your bank wants you to confirm this payment. Follow its prompt; this page carries on by itself."


def _page(
    invoice: Invoice,
    status: int = 200,
    errors: dict[str, str] | None = None,
    message: str = "",
    *,
    key: str | None = None,
    action_secret: str | None = None,
) -> tuple[str, int]:
    """The pay page. A new idempotency key unless `key` (a declined attempt is done: the next is another);
    with `action_secret` the browser confirms the payment with the bank and sends the form again."""
    page = render_template(
        "billing/pay_invoice.html",
        invoice=invoice,
        card=payment_methods.default_for(current_user.id),
        card_in_browser=payment_methods.card_in_browser(),
        idempotency_key=key or secrets.token_urlsafe(24),
        errors=errors or {},
        message=message,
        action_secret=action_secret,
    )
    return page, status


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
    key = form.idempotency_key.data
    request = service.PayRequest(invoice.id, key, card_entry(form), form.setup_intent.data or "")
    try:
        result = service.pay(current_user, request)
    except ValidationError as exc:
        return _page(invoice, 400, exc.errors)
    except (NotFound, PaymentDeclined) as exc:
        status = 402 if isinstance(exc, PaymentDeclined) else 400
        return _page(invoice_service.get_for_user(current_user.id, invoice_id), status, {"card_number": exc.message})
    except Conflict as exc:
        invoice = invoice_service.get_for_user(current_user.id, invoice_id)
        return _page(invoice, 409, message=exc.message) if service.is_payable(invoice) else _not_open(invoice)
    except ExternalServiceError as exc:
        return _page(invoice, 503, message=exc.message)
    if result.status == "requires_action":
        key = result.page_key or key
        return _page(result.invoice, 202, message=CONFIRM_WITH_BANK, key=key, action_secret=result.client_secret)
    if result.status == "paid":
        flash(f"{result.invoice.number} is paid. Thank you!", "success")
    else:
        flash(result.message, "info")
    return back_to("billing.invoice", invoice_id=result.invoice.id)
