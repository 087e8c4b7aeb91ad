"""The credit balance: its ledger, spent before the card at checkout and renewal, shown to the customer."""

import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.billing import credit
from app.billing.periods import add_months
from app.extensions import db
from app.models.billing import Invoice, Subscription, Transaction
from app.models.catalog import Plan
from app.models.credit import CreditBalance, CreditEntry
from app.models.notification import Notification
from app.models.user import User
from tests.factories import InvoiceFactory, PlanFactory, ProductFactory, SubscriptionFactory
from tests.support.checkout import CARD_DECLINED, add_to_cart, card, pay, review, save_card

# Pipeline CRM Team: $49.00 + the 10 % platform fee.
TEAM_TOTAL = 5390


def _give(app, user_id, amount, currency="USD"):
    with app.app_context():
        credit.add_credit(user_id, currency, amount, "adjustment", reason="Goodwill")
        db.session.commit()


def _balance(app, user_id, currency="USD"):
    with app.app_context():
        return credit.balance_of(user_id, currency)


def _ledger_matches(app, user_id, currency="USD"):
    with app.app_context():
        total = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(CreditEntry.amount), 0)).where(
                CreditEntry.user_id == user_id, CreditEntry.currency == currency
            )
        )
        return total == credit.balance_of(user_id, currency)


def _invoices(app, user_id):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Invoice).where(Invoice.user_id == user_id, Invoice.kind == "invoice").order_by(Invoice.number)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


# --- the ledger -------------------------------------------------------------------------------------------------


def test_the_balance_is_the_sum_of_its_entries_and_spending_takes_only_what_is_there(app, user):
    with app.app_context():
        owner = db.session.get(User, user.id)
        credit.add_credit(owner.id, "usd", 700, "refund", reason="Refund to balance")
        credit.add_credit(owner.id, "USD", 300, "downgrade", reason="Unused time")
        invoice = InvoiceFactory(user=owner, status="open")
        db.session.flush()
        due = invoice.total
        assert due > 1000
        assert credit.apply_to_invoice(invoice) == 1000  # all there is, not the whole invoice
        assert invoice.credit_applied == 1000 and invoice.amount_due == due - 1000
        assert credit.apply_to_invoice(invoice) == 0  # nothing left to spend
        db.session.commit()
        entries = db.session.scalars(
            sa.select(CreditEntry).where(CreditEntry.user_id == owner.id).order_by(CreditEntry.created_at)
        ).all()
        assert [(e.amount, e.balance_after, e.source) for e in entries] == [
            (700, 700, "refund"),
            (300, 1000, "downgrade"),
            (-1000, 0, "applied"),
        ]
        assert entries[-1].invoice_id == invoice.id
        row = db.session.get(CreditBalance, (owner.id, "USD"))
        with pytest.raises(ValueError, match="below zero"):
            credit.move(row, -1, "adjustment")
    assert _balance(app, user.id) == 0 and _ledger_matches(app, user.id)


def test_balances_are_kept_per_currency(app, user):
    _give(app, user.id, 500, "USD")
    _give(app, user.id, 300, "EUR")
    assert _balance(app, user.id, "USD") == 500 and _balance(app, user.id, "EUR") == 300
    with app.app_context():
        assert [(b.currency, b.balance) for b in credit.balances(user.id)] == [("EUR", 300), ("USD", 500)]


@pytest.mark.postgres
def test_two_invoices_spending_the_same_balance_at_once_never_take_it_below_zero(app, user):
    with app.app_context():
        owner = db.session.get(User, user.id)
        credit.add_credit(owner.id, "USD", 1000, "adjustment", reason="Goodwill")
        ids = [InvoiceFactory(user=owner, status="open").id for _ in range(2)]
        db.session.commit()
    barrier = threading.Barrier(2)

    def spend(invoice_id):
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            barrier.wait()
            used = credit.apply_to_invoice(invoice)
            db.session.commit()
            return used

    with ThreadPoolExecutor(max_workers=2) as pool:
        used = sorted(pool.map(spend, ids))
    assert used == [0, 1000]
    assert _balance(app, user.id) == 0 and _ledger_matches(app, user.id)
    assert sorted(i.credit_applied for i in _invoices(app, user.id)) == [0, 1000]


@pytest.mark.postgres
def test_ten_invoices_racing_for_a_small_balance_share_exactly_it(app, user):
    with app.app_context():
        owner = db.session.get(User, user.id)
        credit.add_credit(owner.id, "USD", 2500, "adjustment", reason="Goodwill")
        ids = [InvoiceFactory(user=owner, status="open").id for _ in range(10)]
        db.session.commit()
    barrier = threading.Barrier(10)

    def spend(invoice_id):
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            barrier.wait()
            used = credit.apply_to_invoice(invoice)
            db.session.commit()
            return used

    with ThreadPoolExecutor(max_workers=10) as pool:
        used = list(pool.map(spend, ids))
    assert sum(used) == 2500
    assert _balance(app, user.id) == 0 and _ledger_matches(app, user.id)


# --- checkout -----------------------------------------------------------------------------------------------------


def test_a_checkout_the_balance_covers_is_paid_by_balance_without_calling_the_gateway(
    app, signed_in, user, shop, gateway
):
    _give(app, user.id, 6000)
    add_to_cart(signed_in, shop["crm_team"])
    html, key, fingerprint = review(signed_in)
    assert "Paid from credit balance" in html and "Pay with credit" in html
    assert 'name="card_number"' not in html  # no card asked for
    response = signed_in.post(
        "/checkout", data={"idempotency_key": key, "review_fingerprint": fingerprint, "payment_method": "card"}
    )
    assert response.status_code == 303 and "/checkout/complete/" in response.headers["Location"]
    assert gateway.charges() == []
    [invoice] = _invoices(app, user.id)
    assert invoice.status == "paid" and invoice.credit_applied == TEAM_TOTAL and invoice.transaction_id is None
    assert invoice.payment_label == "Credit balance"
    assert _balance(app, user.id) == 6000 - TEAM_TOTAL and _ledger_matches(app, user.id)
    with app.app_context():
        sub = db.session.scalar(sa.select(Subscription).where(Subscription.user_id == user.id))
        assert sub.status == "active"
        receipt = db.session.scalar(sa.select(Notification).where(Notification.kind == "payment_receipt"))
        assert receipt.body.endswith("($53.90 from your credit balance).")


def test_a_checkout_partly_paid_by_balance_charges_the_card_only_the_rest(app, signed_in, user, shop, gateway):
    _give(app, user.id, 1000)
    add_to_cart(signed_in, shop["crm_team"])
    html, _, _ = review(signed_in)
    assert "−$10.00" in html and "Pay $43.90" in html
    response = pay(signed_in)
    assert response.status_code == 303 and "/checkout/complete/" in response.headers["Location"]
    [charge] = gateway.charges()
    assert charge["amount"] == TEAM_TOTAL - 1000
    [invoice] = _invoices(app, user.id)
    assert (invoice.status, invoice.total, invoice.credit_applied) == ("paid", TEAM_TOTAL, 1000)
    assert _balance(app, user.id) == 0 and _ledger_matches(app, user.id)


def test_a_declined_checkout_gives_the_credit_it_held_back(app, signed_in, user, shop, gateway):
    _give(app, user.id, 1000)
    add_to_cart(signed_in, shop["crm_team"])
    response = pay(signed_in, card(CARD_DECLINED))
    assert response.status_code == 402
    assert _balance(app, user.id) == 1000 and _ledger_matches(app, user.id)
    with app.app_context():
        sources = db.session.scalars(
            sa.select(CreditEntry.source).where(CreditEntry.user_id == user.id).order_by(CreditEntry.created_at)
        ).all()
        assert sources == ["adjustment", "applied", "returned"]


# --- renewals through `flask billing run` ---------------------------------------------------------------------

START = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def monthly(app, user, shop):
    """Ada's monthly Pipeline CRM Team subscription, paid for January 2027, with a card on file."""
    with app.app_context():
        owner = db.session.get(User, user.id)
        save_card(owner)
        sub = SubscriptionFactory(
            user=owner,
            plan=db.session.get(Plan, shop["crm_team"]),
            started_at=START,
            current_period_start=START,
            current_period_end=add_months(START, 1),
        )
        db.session.commit()
        return sub.id


def _run(runner, moment):
    return runner.invoke(args=["billing", "run", "--at", moment.strftime("%Y-%m-%dT%H:%M:%SZ")])


def test_a_renewal_spends_the_balance_first_and_charges_the_card_the_rest(app, runner, user, monthly, gateway):
    _give(app, user.id, 2000)
    result = _run(runner, add_months(START, 1))
    assert result.exit_code == 0, result.output
    [renewal] = [i for i in _invoices(app, user.id) if i.subscription_id == monthly]
    assert (renewal.status, renewal.total, renewal.credit_applied) == ("paid", TEAM_TOTAL, 2000)
    assert [c["amount"] for c in gateway.charges()] == [TEAM_TOTAL - 2000]
    assert _balance(app, user.id) == 0 and _ledger_matches(app, user.id)


def test_a_renewal_the_balance_covers_is_paid_by_balance_with_no_charge(app, runner, user, monthly, gateway):
    _give(app, user.id, 12000)
    for month in (1, 2):
        result = _run(runner, add_months(START, month))
        assert result.exit_code == 0, result.output
        assert "paid from credit" in result.output
    renewals = [i for i in _invoices(app, user.id) if i.subscription_id == monthly]
    assert [(i.status, i.credit_applied, i.transaction_id) for i in renewals] == [("paid", TEAM_TOTAL, None)] * 2
    assert gateway.charges() == []
    assert _balance(app, user.id) == 12000 - 2 * TEAM_TOTAL and _ledger_matches(app, user.id)
    with app.app_context():
        sub = db.session.get(Subscription, monthly)
        assert sub.status == "active" and sub.current_period_end == add_months(START, 3)
    # The third month the balance pays what it can, the card the rest.
    result = _run(runner, add_months(START, 3))
    assert result.exit_code == 0, result.output
    assert [c["amount"] for c in gateway.charges()] == [TEAM_TOTAL - (12000 - 2 * TEAM_TOTAL)]
    assert _balance(app, user.id) == 0


# --- what the customer sees ---------------------------------------------------------------------------------------


def test_the_balance_shows_on_the_invoices_page_and_each_invoice_that_used_it_html_and_pdf(app, signed_in, user, shop):
    _give(app, user.id, 6000)
    add_to_cart(signed_in, shop["crm_team"])
    _, key, fingerprint = review(signed_in)
    signed_in.post("/checkout", data={"idempotency_key": key, "review_fingerprint": fingerprint})
    page = signed_in.get("/invoices/").get_data(as_text=True)
    assert "Credit balance" in page and "$6.10 USD" in page and "Applied at checkout" in page
    [invoice] = _invoices(app, user.id)
    html = signed_in.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert re.search(r"Paid from credit balance</th><td class=\"num\">−\$53\.90", html)
    assert re.search(r"Amount paid</th><td class=\"num\">\$0\.00", html)
    text = _pdf_text(signed_in.get(f"/invoices/{invoice.id}.pdf").data)
    assert re.search(r"Paid from credit balance\s+−\$53\.90", text)
    assert re.search(r"Amount paid\s+\$0\.00", text)


def test_without_credit_the_invoices_page_says_so_and_invoices_show_no_credit_line(app, signed_in, user, shop):
    add_to_cart(signed_in, shop["crm_team"])
    pay(signed_in)
    page = signed_in.get("/invoices/").get_data(as_text=True)
    assert "You have no credit." in page
    [invoice] = _invoices(app, user.id)
    assert "Paid from credit balance" not in signed_in.get(f"/invoices/{invoice.id}").get_data(as_text=True)


def test_another_customers_balance_is_not_shown(app, signed_in, user):
    from tests.support.users import make_user

    with app.app_context():
        other = make_user(username="grace")
        credit.add_credit(other.id, "USD", 999, "adjustment", reason="Theirs")
        db.session.commit()
    page = signed_in.get("/invoices/").get_data(as_text=True)
    assert "$9.99" not in page and "Theirs" not in page


def test_the_plan_factory_product_currency_is_usd(app):
    with app.app_context():
        plan = PlanFactory(product=ProductFactory())
        assert plan.currency == "USD"


# --- refunds to the balance, downgrades at once -------------------------------------------------------------------


@pytest.fixture
def admin(app):
    from tests.support.users import make_user, sign_in

    client = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username="root", role="admin"))
    return client


def _refund(admin, invoice_id, **data):
    page = admin.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    key = re.search(r'name="key"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="key"', page)
    return admin.post(f"/admin/invoices/{invoice_id}/refund", data={"key": key.group(1), **data})


def test_a_refund_to_the_balance_calls_no_gateway_issues_a_credit_note_and_credits_the_balance(
    app, signed_in, user, shop, gateway, admin
):
    add_to_cart(signed_in, shop["crm_team"])
    pay(signed_in)
    [invoice] = _invoices(app, user.id)
    page = admin.get(f"/admin/invoices/{invoice.id}").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="destination"[^>]*value="balance"', page)
    response = _refund(admin, invoice.id, amount="20.00", reason="Sorry for the outage", destination="balance")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert gateway.refunds() == []
    assert _balance(app, user.id) == 2000 and _ledger_matches(app, user.id)
    with app.app_context():
        note = db.session.scalar(sa.select(Invoice).where(Invoice.original_invoice_id == invoice.id))
        assert (note.kind, note.status, note.total) == ("credit_note", "paid", 2000) and note.number.startswith("CN-")
        entry = db.session.scalar(sa.select(CreditEntry).where(CreditEntry.user_id == user.id))
        assert (entry.source, entry.credit_note_id, entry.amount) == ("refund", note.id, 2000)
    # The rest goes back to the card: at most what is left of the invoice.
    response = _refund(admin, invoice.id, amount="33.90", reason="The rest", destination="card")
    assert response.status_code == 303
    assert [r["amount"] for r in gateway.refunds()] == [3390]
    # The customer's next checkout spends it.
    add_to_cart(signed_in, shop["analytics_yearly"])
    html, _, _ = review(signed_in)
    assert "Paid from credit balance" in html and "−$20.00" in html


def test_a_refund_to_an_unknown_destination_is_a_400_by_the_field(app, signed_in, user, shop, gateway, admin):
    add_to_cart(signed_in, shop["crm_team"])
    pay(signed_in)
    [invoice] = _invoices(app, user.id)
    response = _refund(admin, invoice.id, amount="1.00", reason="x", destination="bitcoin")
    assert response.status_code == 400 and 'id="destination-error"' in response.get_data(as_text=True)
    assert gateway.refunds() == [] and _balance(app, user.id) == 0


def test_an_invoice_the_balance_paid_refunds_to_the_balance_and_not_to_a_card(app, signed_in, user, shop, admin):
    _give(app, user.id, 6000)
    add_to_cart(signed_in, shop["crm_team"])
    _, key, fingerprint = review(signed_in)
    signed_in.post("/checkout", data={"idempotency_key": key, "review_fingerprint": fingerprint})
    [invoice] = _invoices(app, user.id)
    to_card = _refund(admin, invoice.id, amount="5.00", reason="x", destination="card")
    assert to_card.status_code == 409 and "refund it to the credit balance" in to_card.get_data(as_text=True)
    to_balance = _refund(admin, invoice.id, amount="", reason="Cancelled within a day", destination="balance")
    assert to_balance.status_code == 303
    assert _balance(app, user.id) == 6000 and _ledger_matches(app, user.id)


def test_a_bank_transfer_order_asks_only_for_what_the_balance_left_and_marking_it_paid_records_that(
    app, signed_in, user, shop, gateway, admin
):
    _give(app, user.id, 1000)
    add_to_cart(signed_in, shop["crm_team"])
    response = pay(signed_in, {"payment_method": "bank_transfer"})
    assert response.status_code == 303
    [invoice] = _invoices(app, user.id)
    assert (invoice.status, invoice.credit_applied, invoice.amount_due) == ("open", 1000, TEAM_TOTAL - 1000)
    html = signed_in.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "Transfer $43.90 by" in html and "Paid from credit balance" in html
    assert admin.post(f"/admin/invoices/{invoice.id}/mark-paid").status_code == 303
    with app.app_context():
        paid = db.session.get(Invoice, invoice.id)
        tx = db.session.get(Transaction, paid.transaction_id)
        assert (paid.status, tx.amount) == ("paid", TEAM_TOTAL - 1000)
    assert gateway.charges() == [] and _balance(app, user.id) == 0


def test_the_subscription_page_says_what_the_balance_will_pay_of_the_next_invoice(app, signed_in, user, monthly):
    _give(app, user.id, 2000)
    html = signed_in.get(f"/subscriptions/{monthly}").get_data(as_text=True)
    assert re.search(r"From your credit balance</th><td class=\"num\">−\$20\.00", html)
    assert re.search(r"Left to pay</th><td class=\"num\">\$33\.90", html)
