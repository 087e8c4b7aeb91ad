"""Seller details: defaults from config, edited by an admin on the fee page, audited, printed on invoices."""

import re

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from tests.admin.conftest import client_as
from tests.billing.test_invoice_pdf_tagged import _pdfinfo
from tests.billing.test_invoices import _buy, _invoices, _pdf_text
from tests.support.users import make_user, sign_in

NEW = {"name": "Acme Software GmbH", "address": "Hauptstraße 5\r\n10115 Berlin\r\nGermany", "tax_id": "DE123456789"}


def _customer(app, username: str):
    client = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username=username))
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_invoice_shows_the_configured_seller_until_an_admin_changes_it(app, signed_in, shop):
    _buy(signed_in, shop)
    invoice = _invoices(app)[0]
    page = signed_in.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "MultiProduct Ltd</strong><br>1 Market Street<br>London EC1A 1AA<br>United Kingdom" in page


def test_an_admin_saves_seller_details_which_new_invoices_print_and_issued_ones_keep(app, signed_in, shop):
    _buy(signed_in, shop)
    before = _invoices(app)[0]
    admin = client_as(app, "admin", "root")
    assert "MultiProduct Ltd" in admin.get("/admin/fee").get_data(as_text=True)

    response = admin.post("/admin/fee/seller", data=NEW)
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/fee")
    page = admin.get("/admin/fee").get_data(as_text=True)
    assert "Seller details saved" in page and "Hauptstraße 5<br>10115 Berlin<br>Germany" in page
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "seller.changed")).one()
        assert event.actor_id == admin.user_id
        assert event.before["name"] == "MultiProduct Ltd"
        assert event.after == {
            "name": NEW["name"],
            "address": "Hauptstraße 5\n10115 Berlin\nGermany",
            "tax_id": NEW["tax_id"],
        }

    # An invoice numbered before the change keeps the seller it was issued by.
    old_page = signed_in.get(f"/invoices/{before.id}").get_data(as_text=True)
    assert "MultiProduct Ltd</strong><br>1 Market Street" in old_page and "Acme" not in old_page

    issued = {i.id for i in _invoices(app)}
    grace = _customer(app, "grace")
    _buy(grace, shop)
    after = next(i for i in _invoices(app) if i.id not in issued)
    html = grace.get(f"/invoices/{after.id}").get_data(as_text=True)
    assert "Acme Software GmbH" in html and "Hauptstraße 5<br>10115 Berlin<br>Germany" in html
    assert "Tax ID: DE123456789" in _text(html)
    pdf = grace.get(f"/invoices/{after.id}.pdf").data
    text = _pdf_text(pdf)
    for expected in ("Acme Software GmbH", "Hauptstraße 5", "10115 Berlin", "Germany", "Tax ID: DE123456789"):
        assert expected in text, expected
    assert _pdfinfo(pdf)["Tagged"] == "yes"


def test_seller_details_are_escaped_on_the_invoice(app, signed_in, shop):
    admin = client_as(app, "admin", "root")
    data = {"name": "<b>Evil</b> & Co", "address": "<script>x()</script>\nTown", "tax_id": ""}
    assert admin.post("/admin/fee/seller", data=data).status_code == 303
    _buy(signed_in, shop)
    html = signed_in.get(f"/invoices/{_invoices(app)[0].id}").get_data(as_text=True)
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html and "&lt;script&gt;x()&lt;/script&gt;<br>Town" in html
    assert "<script>x()" not in html and "Tax ID" not in _text(html)


def test_bad_seller_details_are_explained_next_to_the_field_and_change_nothing(app):
    admin = client_as(app, "admin", "root")
    response = admin.post("/admin/fee/seller", data={"name": " ", "address": "", "tax_id": "x" * 61})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter the name invoices are issued in" in page and "Enter the address printed on invoices" in page
    assert "Use at most 60 characters" in page
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "seller.changed")) is None


def test_control_characters_in_seller_details_are_refused_not_a_server_error(app):
    admin = client_as(app, "admin", "root")
    response = admin.post("/admin/fee/seller", data={"name": "A\x00B", "address": "Street\x00", "tax_id": "\x07"})
    assert response.status_code == 400
    # Beside each of the three fields, and again in the form's error summary.
    assert response.get_data(as_text=True).count("Invisible or control characters can") == 6


def test_only_who_manages_the_fee_changes_the_seller_details(app):
    support = client_as(app, "support", "helper")
    assert support.post("/admin/fee/seller", data=NEW).status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "seller.changed")) is None
