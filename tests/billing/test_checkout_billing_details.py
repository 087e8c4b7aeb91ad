"""Billing details at checkout: shown prefilled from the profile, edited there with the profile's rules,
saved on the profile when the order goes through, and printed on its invoices."""

import html as html_lib
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, Transaction
from app.models.user import User
from tests.support.checkout import CARD_DECLINED, add_to_cart, card, pay, review

ADDRESS = {"line1": "12 Analytical Row", "city": "London", "postal_code": "N1 9GU", "country": "United Kingdom"}


def billing(**fields) -> dict:
    """The review page's billing fields as posted (named billing-…)."""
    values = {"company": "", "line1": "", "line2": "", "city": "", "region": "", "postal_code": "", "country": ""}
    values |= {"tax_id": ""} | fields
    return {f"billing-{name}": value for name, value in values.items()}


def text(response_or_html) -> str:
    raw = response_or_html if isinstance(response_or_html, str) else response_or_html.get_data(as_text=True)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", raw)))


def _user(app, user_id) -> User:
    with app.app_context():
        row = db.session.get(User, user_id)
        db.session.expunge_all()
        return row


def _set_profile(app, user_id, **columns) -> None:
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user_id).values(**columns))
        db.session.commit()


def test_an_incomplete_profile_gets_the_fields_on_the_checkout_page(signed_in, shop):
    add_to_cart(signed_in, shop["crm_team"])
    page, _, _ = review(signed_in)
    for name in ("company", "line1", "city", "postal_code", "country", "tax_id"):
        assert f'name="billing-{name}"' in page
    assert 'class="billing-edit"' not in page  # nothing to summarise yet: the fields are open


def test_a_complete_profile_is_a_summary_with_an_edit_disclosure_prefilled(app, signed_in, user, shop):
    _set_profile(app, user.id, company="Analytical Engines Ltd", address=ADDRESS, tax_id="GB123456789")
    add_to_cart(signed_in, shop["crm_team"])
    page, _, _ = review(signed_in)
    summary = page.split('class="billed-to"', 1)[1].split("</p>", 1)[0]
    assert "Analytical Engines Ltd" in summary and "N1 9GU" in summary and "GB123456789" in summary
    assert '<details class="billing-edit">' in page and "Edit" in page  # closed until asked for
    assert 'name="billing-company"' in page and 'value="Analytical Engines Ltd"' in page
    assert 'value="12 Analytical Row"' in page


def test_details_typed_at_checkout_are_on_the_invoices_and_saved_on_the_profile(app, signed_in, user, shop):
    add_to_cart(signed_in, shop["crm_team"])
    typed = billing(company="Analytical Engines Ltd", tax_id="GB123456789", **ADDRESS)
    response = pay(signed_in, card() | typed)
    assert response.status_code == 303
    with app.app_context():
        [invoice] = db.session.scalars(sa.select(Invoice).where(Invoice.user_id == user.id)).all()
        assert invoice.bill_to["company"] == "Analytical Engines Ltd" and invoice.bill_to["tax_id"] == "GB123456789"
        assert invoice.bill_to["address"]["postal_code"] == "N1 9GU"
        invoice_id = invoice.id
    saved = _user(app, user.id)
    assert (saved.company, saved.tax_id, saved.address["city"]) == ("Analytical Engines Ltd", "GB123456789", "London")
    printed = text(signed_in.get(f"/invoices/{invoice_id}"))
    assert "Analytical Engines Ltd" in printed and "12 Analytical Row" in printed and "GB123456789" in printed


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("company", "<script>alert(1)</script>", "can't be used here"),
        ("line1", "x" * 121, "at most 120 characters"),
        ("postal_code", "N1\u200b9GU", "invisible or control characters"),
        ("tax_id", "GB12;DROP", "can't be used here"),
        ("city", "\x00", "invisible or control characters"),
    ],
)
def test_bad_billing_details_are_refused_beside_the_field_and_nothing_is_charged(
    app, signed_in, user, shop, gateway, name, value, message
):
    add_to_cart(signed_in, shop["crm_team"])
    response = pay(signed_in, card() | billing(**{**ADDRESS, name: value}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    # The message sits under the field (linked to it) and in the summary at the top, which links to the field.
    field_error = re.search(rf'<p class="field-error" id="billing-{name}-error"[^>]*>([^<]+)</p>', page)
    assert field_error and message in html_lib.unescape(field_error.group(1))
    assert re.search(rf'aria-describedby="[^"]*billing-{name}-error"', page) and f'href="#billing-{name}"' in page
    assert gateway.charges() == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 0
    saved = _user(app, user.id)
    assert saved.company is None and saved.address is None and saved.tax_id is None


def test_a_declined_payment_keeps_what_was_typed_and_leaves_the_profile_alone(app, signed_in, user, shop):
    add_to_cart(signed_in, shop["crm_team"])
    response = pay(signed_in, card(CARD_DECLINED) | billing(company="Analytical Engines Ltd", **ADDRESS))
    assert response.status_code == 402
    assert 'value="Analytical Engines Ltd"' in response.get_data(as_text=True)
    saved = _user(app, user.id)
    assert saved.company is None and saved.address is None


def test_a_submit_without_billing_fields_bills_the_profile_as_it_is(app, signed_in, user, shop):
    """An older review page (or any client) that sends no billing fields changes nothing on the profile."""
    _set_profile(app, user.id, company="Old Co", address=ADDRESS)
    add_to_cart(signed_in, shop["crm_team"])
    assert pay(signed_in).status_code == 303
    with app.app_context():
        [invoice] = db.session.scalars(sa.select(Invoice).where(Invoice.user_id == user.id)).all()
        assert invoice.bill_to["company"] == "Old Co"
    assert _user(app, user.id).company == "Old Co"
