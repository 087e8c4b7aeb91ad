import re
import subprocess

import pytest
import sqlalchemy as sa

from app.billing.services.adjustments import mark_invoice_paid, refund_invoice, void_invoice
from app.errors import Conflict, ValidationError
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import Invoice, Subscription, Transaction
from tests.support.checkout import add_to_cart, pay
from tests.support.users import make_user, sign_in


def _buy(client, shop, fields=None):
    add_to_cart(client, shop["crm_team"])
    add_to_cart(client, shop["analytics_yearly"])
    assert pay(client, fields).status_code == 303


def _invoices(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.number)).all()
        db.session.expunge_all()
        return rows


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_the_invoice_list_shows_every_invoice_newest_first(app, signed_in, shop):
    _buy(signed_in, shop)
    page = signed_in.get("/invoices/").get_data(as_text=True)
    for invoice in _invoices(app):
        assert invoice.number in page
    assert "Pipeline CRM · Team (monthly)" in page and "Paid" in page


def test_the_printable_invoice_shows_number_dates_lines_fee_and_totals(app, signed_in, shop):
    _buy(signed_in, shop)
    yearly = next(i for i in _invoices(app) if i.discount)
    page = signed_in.get(f"/invoices/{yearly.id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert yearly.number in text and "MultiProduct" in text and "Billed to" in text
    assert "Insight Analytics · Growth (yearly)" in text and "Discount (10%)" in text
    assert "Platform fee (10%) $42.12" in text and "Total $463.32 USD" in text
    assert "Visa •••• 4242" in text


def test_the_pdf_is_a_pdf_with_the_platform_name_number_lines_and_totals(app, signed_in, shop):
    _buy(signed_in, shop)
    invoice = next(i for i in _invoices(app) if i.discount)
    response = signed_in.get(f"/invoices/{invoice.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert f'filename="{invoice.number}.pdf"' in response.headers["Content-Disposition"]
    text = _pdf_text(response.data)
    for expected in (
        invoice.number,
        "MultiProduct",
        "Insight Analytics",
        "Platform fee (10%)",
        "$463.32",
        "Issued",
        "Due",
    ):
        assert expected in text, expected


@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_another_users_invoice_is_a_404(app, signed_in, shop, suffix):
    _buy(signed_in, shop)
    invoice = _invoices(app)[0]
    mallory = app.test_client()
    with app.app_context():
        sign_in(mallory, make_user(username="mallory"))
    assert mallory.get(f"/invoices/{invoice.id}{suffix}").status_code == 404
    assert mallory.get(f"/invoices/not-a-uuid{suffix}").status_code == 404
    assert signed_in.get(f"/invoices/{invoice.id}{suffix}").status_code == 200


def test_marking_a_bank_transfer_invoice_paid_records_a_transaction_and_is_audited(app, signed_in, shop):
    _buy(signed_in, shop, {"payment_method": "bank_transfer"})
    invoice = _invoices(app)[0]
    with app.app_context():
        admin = make_user(username="boss", role="admin")
        mark_invoice_paid(invoice.id, admin.id)
        paid = db.session.get(Invoice, invoice.id)
        tx = db.session.get(Transaction, paid.transaction_id)
        assert paid.status == "paid" and paid.paid_at is not None
        assert (tx.gateway, tx.status, tx.amount) == ("bank_transfer", "succeeded", paid.total)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invoice.mark_paid"))
        assert event.actor_id == admin.id and event.target_id == str(invoice.id)
        with pytest.raises(Conflict):
            mark_invoice_paid(invoice.id, admin.id)


def test_voiding_an_open_invoice_keeps_its_number(app, signed_in, shop):
    _buy(signed_in, shop, {"payment_method": "bank_transfer"})
    invoice = _invoices(app)[0]
    with app.app_context():
        void_invoice(invoice.id, None)
        voided = db.session.get(Invoice, invoice.id)
        assert voided.status == "void" and voided.number == invoice.number
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invoice.void")) is not None
        with pytest.raises(Conflict):
            void_invoice(invoice.id, None)


def test_a_paid_invoice_cannot_be_voided(app, signed_in, shop):
    _buy(signed_in, shop)
    with app.app_context(), pytest.raises(Conflict):
        void_invoice(_invoices(app)[0].id, None)


def test_a_refund_issues_a_numbered_credit_note_and_refunds_at_the_gateway(app, signed_in, shop, gateway):
    _buy(signed_in, shop)
    invoice = next(i for i in _invoices(app) if not i.discount)
    with app.app_context():
        note = refund_invoice(invoice.id, None, "Customer asked within 14 days")
        assert re.fullmatch(r"CN-\d{4}-000001", note.number)
        assert note.kind == "credit_note" and note.original_invoice_id == invoice.id and note.total == invoice.total
        refund = db.session.get(Transaction, note.transaction_id)
        assert (refund.kind, refund.status, refund.amount) == ("refund", "pending", invoice.total)
        assert refund.gateway_reference.startswith("re_")
        assert (
            gateway.record(refund.gateway_reference)["charge"]
            == db.session.get(Transaction, invoice.transaction_id).gateway_reference
        )
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invoice.refund")) is not None
        with pytest.raises(Conflict):
            refund_invoice(invoice.id, None, "again")
        with pytest.raises(ValidationError):
            refund_invoice(invoice.id, None, "   ")
    page = signed_in.get(f"/invoices/{note.id}").get_data(as_text=True)
    assert "Credit note" in page and invoice.number in page and "Customer asked within 14 days" in page


def test_the_refund_is_confirmed_by_the_gateways_webhook(app, live_server, signed_in, shop, run_jobs):
    app.config["PAYMENT_SANDBOX_WEBHOOKS"] = True
    _buy(signed_in, shop)
    invoices = _invoices(app)
    with app.app_context():
        notes = [refund_invoice(i.id, None, "Duplicate purchase").id for i in invoices]
    run_jobs()  # the sandbox's events (two charge confirmations, two refunds) reach the webhook over HTTP
    with app.app_context():
        refunds = db.session.scalars(sa.select(Transaction).where(Transaction.kind == "refund")).all()
        assert {r.status for r in refunds} == {"succeeded"}
        charge = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "charge"))
        assert charge.status == "refunded"  # both invoices it paid were refunded
        assert {db.session.get(Invoice, n).status for n in notes} == {"paid"}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 2


@pytest.mark.parametrize("page", ["-1", "0", "abc", "99999999999", "<script>", "' OR 1=1 --", "1\u200b"])
def test_a_bad_page_number_shows_the_first_page(signed_in, shop, page):
    _buy(signed_in, shop)
    response = signed_in.get("/invoices/", query_string={"page": page})
    assert response.status_code == 200 and "INV-" in response.get_data(as_text=True)
