"""The customer's billing details (company, address, tax id): edited on the profile, shown at checkout
with a way to change them, captured with the order and printed on its invoices, which keep them."""

import re

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User
from tests.account.test_profile import PROFILE
from tests.billing.test_invoices import _buy, _invoices, _pdf_text
from tests.support.checkout import add_to_cart

BILLING = {**PROFILE, "company": "Analytical Engines & Co. Ltd", "tax_id": "GB 123 4567 89"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_profile_saves_company_and_tax_id_and_audits_them(app, signed_in):
    assert signed_in.post("/account/profile", data=BILLING).status_code == 303
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.profile_updated")).one()
        user = db.session.get(User, event.actor_id)
        assert (user.company, user.tax_id) == ("Analytical Engines & Co. Ltd", "GB 123 4567 89")
        assert {"company", "tax_id"} <= set(event.after["fields"])
    page = signed_in.get("/account/profile").text
    assert 'value="Analytical Engines &amp; Co. Ltd"' in page and 'value="GB 123 4567 89"' in page


def test_a_tax_id_with_markup_is_refused_next_to_the_field(app, signed_in):
    response = signed_in.post("/account/profile", data={**BILLING, "tax_id": "<b>1</b>"})
    assert response.status_code == 400
    assert "be used here. Use letters, digits, spaces and . - /" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(User.tax_id).where(User.tax_id.is_not(None))) is None


def test_the_checkout_review_shows_the_billing_details_the_profile_saved(app, signed_in, shop):
    """Edited on the profile (coming back to checkout), they show on the review as a summary; they are
    edited on the review itself too (tests/billing/test_checkout_billing_details.py)."""
    add_to_cart(signed_in, shop["crm_team"])
    review = signed_in.get("/checkout").text
    assert 'id="billing-heading">Billing details' in review and 'name="billing-line1"' in review
    form = signed_in.get("/account/profile?next=/checkout").text
    assert "Save and go back" in form and 'action="/account/profile?next=/checkout"' in form
    response = signed_in.post("/account/profile?next=%2Fcheckout", data=BILLING)
    assert response.status_code == 303 and response.headers["Location"] == "/checkout"
    text = _text(signed_in.get("/checkout").text)
    assert "Analytical Engines &amp; Co. Ltd" in text and "12 St James's Square" in text.replace("&#39;", "'")
    assert "Tax ID: GB 123 4567 89" in text


def test_a_foreign_next_is_ignored_after_saving_the_profile(signed_in):
    response = signed_in.post("/account/profile?next=https://evil.example/", data=BILLING)
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/profile")


def test_invoices_print_the_billing_details_and_keep_them_when_the_profile_changes(app, signed_in, shop):
    assert signed_in.post("/account/profile", data=BILLING).status_code == 303
    _buy(signed_in, shop)
    invoice = _invoices(app)[0]
    html = signed_in.get(f"/invoices/{invoice.id}").text
    block = _text(html).replace("&#39;", "'")
    for expected in ("Analytical Engines &amp; Co. Ltd", "12 St James's Square", "SW1Y 4JH", "Tax ID: GB 123 4567 89"):
        assert expected in block, expected
    pdf = _pdf_text(signed_in.get(f"/invoices/{invoice.id}.pdf").data)
    for expected in ("Analytical Engines & Co. Ltd", "12 St James's Square", "Tax ID: GB 123 4567 89"):
        assert expected in pdf, expected

    moved = {**BILLING, "company": "Babbage Partners", "tax_id": "", "line1": "1 New Road"}
    assert signed_in.post("/account/profile", data=moved).status_code == 303
    again = _text(signed_in.get(f"/invoices/{invoice.id}").text).replace("&#39;", "'")
    assert "Analytical Engines &amp; Co. Ltd" in again and "Tax ID: GB 123 4567 89" in again
    assert "Babbage" not in again and "1 New Road" not in again
    assert "Babbage" not in _pdf_text(signed_in.get(f"/invoices/{invoice.id}.pdf").data)
