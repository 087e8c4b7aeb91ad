"""Admin subscriptions, invoices and transactions: filters, actions and their audit, permissions, bad input,
CSV exports, query counts, and the dashboard's revenue chart."""

import csv
import io
import re
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.billing.services.adjustments import refund_invoice
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from app.models.catalog import Plan
from app.models.notification import Notification
from app.models.outbox import OutboxMessage
from app.models.user import User
from tests.factories import InvoiceFactory, PlanFactory, ProductFactory, SubscriptionFactory
from tests.support.users import make_user

BAD_VALUES = ["", "x" * 5000, "admin\u200b", "<script>alert(1)</script>", "' OR 1=1 --", "\x00", "-1", "2026-13-45"]


@pytest.fixture
def billing(app):
    """Ada with an active CRM subscription, a trial of Analytics, one open and one paid invoice; Bob with one
    paid invoice. Returns plain ids."""
    with app.app_context():
        crm = ProductFactory(name="Pipeline CRM")
        team = PlanFactory(product=crm)  # Team, monthly, $49.00, 14-day trial
        analytics = ProductFactory(name="Insight Analytics")
        growth = PlanFactory(product=analytics, name="Growth", billing_cycle="yearly", price=46800, trial_days=30)
        ada = make_user(username="ada", email="ada@example.test")
        bob = make_user(username="bob", email="bob@example.test")
        active = SubscriptionFactory(user_id=ada.id, plan=team)
        now = utcnow()
        trial = SubscriptionFactory(
            user_id=ada.id,
            plan=growth,
            status="trial",
            current_period_end=now + timedelta(days=30),
            trial_end=now + timedelta(days=30),
        )
        open_inv = InvoiceFactory(user=ada, plan=team, status="open", subscription_id=active.id)
        paid_inv = InvoiceFactory(user=ada, plan=team, status="paid")
        bob_inv = InvoiceFactory(user=bob, plan=team, status="paid")
        return {
            "crm": crm.id,
            "analytics": analytics.id,
            "ada": ada.id,
            "bob": bob.id,
            "active": active.id,
            "trial": trial.id,
            "open": open_inv.id,
            "paid": paid_inv.id,
            "bob_paid": bob_inv.id,
            "open_number": open_inv.number,
            "paid_number": paid_inv.number,
            "bob_number": bob_inv.number,
        }


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _results(client, url: str) -> str:
    """The results region only (what HTMX swaps in), without the filter form's options."""
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200, url
    return _text(response)


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return events


def _get(app, model, id_):
    with app.app_context():
        row = db.session.get(model, id_)
        db.session.expunge_all()
        return row


# --- Subscriptions ---------------------------------------------------------------------------------------------


def test_the_subscription_list_filters_by_status_product_and_customer(admin_client, billing):
    everything = admin_client.get("/admin/subscriptions")
    assert everything.status_code == 200 and "2 results" in _text(everything)
    trials = _results(admin_client, "/admin/subscriptions?status=trial")
    assert "Insight Analytics" in trials and "Pipeline CRM" not in trials
    crm = _results(admin_client, f"/admin/subscriptions?product={billing['crm']}")
    assert "Pipeline CRM" in crm and "1 result" in crm
    assert "2 results" in _results(admin_client, "/admin/subscriptions?q=ADA@example")
    assert "No subscriptions match" in _results(admin_client, "/admin/subscriptions?q=bob")


def test_the_subscription_list_answers_htmx_with_the_results_only(admin_client, billing):
    response = admin_client.get("/admin/subscriptions?status=active&sort=user&dir=asc", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "Pipeline CRM" in html
    # Sort and page links keep the filters, so the pushed URL reproduces the view.
    assert "status=active" in html


@pytest.mark.parametrize("value", BAD_VALUES)
def test_nonsense_subscription_filters_are_ignored_never_a_500(admin_client, billing, value):
    for name in ("q", "status", "product", "sort", "dir", "page", "per_page"):
        response = admin_client.get("/admin/subscriptions", query_string={name: value})
        assert response.status_code == 200, (name, value)


def test_an_admin_cancels_a_subscription_now_and_it_is_audited(app, admin_client, billing):
    url = f"/admin/subscriptions/{billing['active']}/cancel"
    response = admin_client.post(url, data={"when": "now"})
    assert response.status_code == 303
    sub = _get(app, Subscription, billing["active"])
    assert sub.status == "cancelled" and sub.ended_at is not None
    [event] = _events(app, "subscription.cancel")
    assert event.actor_id == admin_client.user_id and event.before["status"] == "active"
    assert event.after["status"] == "cancelled"
    # Cancelling an ended subscription explains itself and changes nothing.
    again = admin_client.post(url, data={"when": "now"})
    assert again.status_code == 409 and "already cancelled" in _text(again)
    assert len(_events(app, "subscription.cancel")) == 1


def test_an_admin_cancels_at_period_end_and_access_continues(app, admin_client, billing):
    response = admin_client.post(
        f"/admin/subscriptions/{billing['active']}/cancel", data={"when": "period_end"}, follow_redirects=True
    )
    sub = _get(app, Subscription, billing["active"])
    ends = f"{sub.current_period_end:%d %b %Y}"
    # The staff page says what the customer is told, in the notification and the email: it will end on that date.
    assert f"will end on {ends}" in _text(response) and "cancelled on" not in _text(response)
    assert sub.status == "active" and sub.cancel_at_period_end
    with app.app_context():
        [notice] = db.session.scalars(sa.select(Notification).where(Notification.user_id == sub.user_id)).all()
        emails = [m.args[0] for m in db.session.scalars(sa.select(OutboxMessage)) if m.args]
    assert notice.kind == "subscription_ending" and notice.title == f"Pipeline CRM will end on {ends}"
    [email] = [e for e in emails if e.get("template") == "subscription_ending"]
    # The date travels as an instant; the worker writes it on the recipient's calendar.
    assert email["context"]["ends_on"].startswith(f"{sub.current_period_end:%Y-%m-%d}")
    assert "cancelled" not in email["context"]["title"]
    page = _text(admin_client.get(f"/admin/subscriptions/{billing['active']}"))
    assert f"will end on {ends}" in page and "cancels at period end" not in page
    assert (
        admin_client.post(f"/admin/subscriptions/{billing['active']}/cancel", data={"when": "period_end"}).status_code
        == 409
    )


@pytest.mark.parametrize("when", ["", "later", "\x00", "now; DROP TABLE"])
def test_cancel_needs_now_or_period_end(app, admin_client, billing, when):
    assert admin_client.post(f"/admin/subscriptions/{billing['active']}/cancel", data={"when": when}).status_code == 400
    assert _get(app, Subscription, billing["active"]).status == "active"


def test_extending_a_trial_moves_its_end_and_period_and_is_audited(app, admin_client, billing):
    before = _get(app, Subscription, billing["trial"])
    response = admin_client.post(
        f"/admin/subscriptions/{billing['trial']}/extend-trial", data={"days": "10"}, follow_redirects=True
    )
    assert "The trial now runs until" in _text(response)
    after = _get(app, Subscription, billing["trial"])
    assert after.trial_end - before.trial_end == timedelta(days=10)
    assert after.current_period_end == after.trial_end and after.status == "trial"
    [event] = _events(app, "subscription.trial_extended")
    assert event.actor_id == admin_client.user_id and event.after["days"] == 10


@pytest.mark.parametrize("days", ["0", "91", "-3", "abc", "", "1.5", "\x00", "9" * 40, "<script>"])
def test_a_trial_extension_outside_1_to_90_days_is_refused_beside_the_field(app, admin_client, billing, days):
    before = _get(app, Subscription, billing["trial"])
    response = admin_client.post(f"/admin/subscriptions/{billing['trial']}/extend-trial", data={"days": days})
    assert response.status_code == 400
    assert 'id="days-error"' in response.get_data(as_text=True) and "from 1 to 90" in _text(response)
    assert _get(app, Subscription, billing["trial"]).trial_end == before.trial_end
    assert _events(app, "subscription.trial_extended") == []


def test_only_a_running_trial_can_be_extended(app, admin_client, billing):
    response = admin_client.post(f"/admin/subscriptions/{billing['active']}/extend-trial", data={"days": "5"})
    assert response.status_code == 409 and "Only a running trial" in _text(response)


def test_unknown_subscription_ids_are_404(admin_client, billing):
    missing = "00000000-0000-0000-0000-00000000abcd"
    assert admin_client.get(f"/admin/subscriptions/{missing}").status_code == 404
    assert admin_client.post(f"/admin/subscriptions/{missing}/cancel", data={"when": "now"}).status_code == 404
    assert admin_client.post(f"/admin/subscriptions/{missing}/extend-trial", data={"days": "3"}).status_code == 404
    assert admin_client.get("/admin/subscriptions/not-a-uuid").status_code == 404


# --- Permission boundaries -------------------------------------------------------------------------------------


def test_support_sees_subscriptions_invoices_and_transactions_but_cannot_act(app, support_client, billing):
    for url in (
        "/admin/subscriptions",
        f"/admin/subscriptions/{billing['active']}",
        "/admin/invoices",
        f"/admin/invoices/{billing['paid']}",
        "/admin/transactions",
    ):
        response = support_client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        for action in ("/refund", "/mark-paid", "/void", "/cancel", "/extend-trial", "invoices.csv"):
            assert action not in html, (url, action)
    refused = [
        (f"/admin/subscriptions/{billing['active']}/cancel", {"when": "now"}),
        (f"/admin/subscriptions/{billing['trial']}/extend-trial", {"days": "5"}),
        (f"/admin/invoices/{billing['paid']}/refund", {"reason": "goodwill"}),
        (f"/admin/invoices/{billing['open']}/mark-paid", {}),
        (f"/admin/invoices/{billing['open']}/void", {}),
    ]
    for url, data in refused:
        assert support_client.post(url, data=data).status_code == 403, url
    assert support_client.get("/admin/invoices.csv").status_code == 403
    assert _get(app, Subscription, billing["active"]).status == "active"
    assert _get(app, Invoice, billing["open"]).status == "open"
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.kind == "credit_note")) == 0
        )


def test_a_customer_gets_404_on_the_billing_admin_pages(customer_client, billing):
    for url in (
        "/admin/subscriptions",
        "/admin/invoices",
        "/admin/transactions",
        "/admin/invoices.csv",
        f"/admin/invoices/{billing['paid']}",
        f"/admin/invoices/{billing['paid']}.pdf",
    ):
        assert customer_client.get(url).status_code == 404, url
    assert customer_client.post(f"/admin/invoices/{billing['paid']}/refund", data={"reason": "x"}).status_code == 404


# --- Invoices --------------------------------------------------------------------------------------------------


def test_the_invoice_list_filters_by_status_customer_number_and_date(admin_client, billing):
    paid = _results(admin_client, "/admin/invoices?status=paid")
    assert billing["paid_number"] in paid and billing["bob_number"] in paid and billing["open_number"] not in paid
    bob = _results(admin_client, "/admin/invoices?q=bob@")
    assert billing["bob_number"] in bob and billing["paid_number"] not in bob
    assert "1 result" in _results(admin_client, f"/admin/invoices?q={billing['open_number'].lower()}")
    today = utcnow().date()
    assert "3 results" in _results(admin_client, f"/admin/invoices?from={today}&to={today}")
    later = today + timedelta(days=1)
    assert "No invoices match" in _results(admin_client, f"/admin/invoices?from={later}")


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("from", "2026-02-30", "Use a date like"),
        ("to", "yesterday", "Use a date like"),
        ("from", "\x00", "Use a date"),
        ("from", "2026-01-01T00:00", "Use a date like"),
    ],
)
def test_a_malformed_date_filter_is_a_400_with_the_message_beside_it(admin_client, billing, name, value, message):
    response = admin_client.get("/admin/invoices", query_string={name: value})
    assert response.status_code == 400 and message in _text(response)
    assert f'id="{name}-error"' in response.get_data(as_text=True)
    assert "3 results" in _text(response)  # the rest of the list still shows
    assert admin_client.get("/admin/transactions", query_string={name: value}).status_code == 400
    assert admin_client.get("/admin/invoices.csv", query_string={name: value}).status_code == 400


def test_an_end_date_before_the_start_is_refused(admin_client, billing):
    response = admin_client.get("/admin/invoices?from=2026-05-01&to=2026-04-01")
    assert response.status_code == 400 and "before the start date" in _text(response)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_nonsense_invoice_and_transaction_filters_never_500(admin_client, billing, value):
    for path in ("/admin/invoices", "/admin/transactions"):
        for name in ("q", "status", "kind", "sort", "dir", "page"):
            assert admin_client.get(path, query_string={name: value}).status_code == 200, (path, name, value)


def test_the_invoice_page_shows_lines_payment_and_actions(admin_client, billing):
    page = _text(admin_client.get(f"/admin/invoices/{billing['paid']}"))
    assert billing["paid_number"] in page and "Pipeline CRM" in page and "Platform fee (10%)" in page
    assert "$53.90" in page and "bank transfer" in page and "Refund" in page
    open_page = _text(admin_client.get(f"/admin/invoices/{billing['open']}"))
    assert "Mark paid (bank transfer)" in open_page and "Void" in open_page


def test_marking_an_open_invoice_paid_records_the_transfer_once_in_the_audit(app, admin_client, billing):
    response = admin_client.post(f"/admin/invoices/{billing['open']}/mark-paid", follow_redirects=True)
    assert "is marked paid" in _text(response)
    invoice = _get(app, Invoice, billing["open"])
    tx = _get(app, Transaction, invoice.transaction_id)
    assert invoice.status == "paid" and (tx.gateway, tx.status, tx.amount) == ("bank_transfer", "succeeded", 5390)
    [event] = _events(app, "invoice.mark_paid")
    assert event.actor_id == admin_client.user_id and event.target_id == str(billing["open"])
    assert admin_client.post(f"/admin/invoices/{billing['open']}/mark-paid").status_code == 409


def test_voiding_an_open_invoice_keeps_its_number_and_a_paid_one_cannot_be_voided(app, admin_client, billing):
    assert admin_client.post(f"/admin/invoices/{billing['open']}/void").status_code == 303
    voided = _get(app, Invoice, billing["open"])
    assert voided.status == "void" and voided.number == billing["open_number"]
    [event] = _events(app, "invoice.void")
    assert event.actor_id == admin_client.user_id
    refused = admin_client.post(f"/admin/invoices/{billing['paid']}/void")
    assert refused.status_code == 409 and "only an unpaid invoice can be voided" in _text(refused)
    assert _get(app, Invoice, billing["paid"]).status == "paid"


def test_a_refund_with_no_amount_refunds_all_that_is_left_with_a_credit_note_and_cannot_repeat(
    app, admin_client, billing
):
    url = f"/admin/invoices/{billing['paid']}/refund"
    response = admin_client.post(url, data={"reason": "Duplicate payment"}, follow_redirects=True)
    page = _text(response)
    note_number = re.search(r"credit note (CN-\d{4}-\d{6}) issued", page).group(1)
    assert "Credit notes" in page and note_number in page and "Duplicate payment" in page
    with app.app_context():
        note = db.session.scalar(sa.select(Invoice).where(Invoice.number == note_number))
        refund = db.session.get(Transaction, note.transaction_id)
        assert note.kind == "credit_note" and note.original_invoice_id == billing["paid"] and note.total == 5390
        assert (refund.kind, refund.status, refund.amount) == ("refund", "succeeded", 5390)
        note_id = note.id
    [event] = _events(app, "invoice.refund")
    assert event.actor_id == admin_client.user_id and event.after["refunded"] == "$53.90"
    assert "Refunded $53.90" in page and "Remaining $0.00" in page
    note_page = _text(admin_client.get(f"/admin/invoices/{note_id}"))
    assert "Credit note " + note_number in note_page and billing["paid_number"] in note_page
    twice = admin_client.post(url, data={"reason": "again"})
    assert twice.status_code == 409 and "already been refunded in full" in _text(twice)
    assert len(_events(app, "invoice.refund")) == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_refund_needs_a_reason(app, admin_client, billing, reason):
    response = admin_client.post(f"/admin/invoices/{billing['paid']}/refund", data={"reason": reason})
    assert response.status_code == 400 and 'id="reason-error"' in response.get_data(as_text=True)
    assert _events(app, "invoice.refund") == []


def test_refunding_an_open_invoice_is_refused(admin_client, billing):
    response = admin_client.post(f"/admin/invoices/{billing['open']}/refund", data={"reason": "oops"})
    assert response.status_code == 409 and "only a paid invoice can be refunded" in _text(response)


def test_unknown_invoice_ids_are_404(admin_client, billing):
    missing = "00000000-0000-0000-0000-00000000abcd"
    for url in (f"/admin/invoices/{missing}", f"/admin/invoices/{missing}.pdf", "/admin/invoices/nope"):
        assert admin_client.get(url).status_code == 404, url
    for action in ("mark-paid", "void", "refund"):
        assert admin_client.post(f"/admin/invoices/{missing}/{action}", data={"reason": "x"}).status_code == 404


def test_an_admin_downloads_any_customers_invoice_pdf(admin_client, billing):
    response = admin_client.get(f"/admin/invoices/{billing['bob_paid']}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert f'filename="{billing["bob_number"]}.pdf"' in response.headers["Content-Disposition"]


# --- Transactions ----------------------------------------------------------------------------------------------


def test_the_transaction_list_filters_and_links_to_invoices(app, admin_client, billing):
    with app.app_context():
        refund_invoice(billing["paid"], None, "Goodwill")
    page = _text(admin_client.get("/admin/transactions"))
    assert "3 results" in page and billing["paid_number"] in page
    refunds = _results(admin_client, "/admin/transactions?kind=refund")
    assert "1 result" in refunds and "−$53.90" in refunds
    assert "1 result" in _results(admin_client, "/admin/transactions?q=bob")


# --- CSV exports -----------------------------------------------------------------------------------------------


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_invoice_csv_holds_the_filtered_rows(admin_client, billing):
    response = admin_client.get("/admin/invoices.csv?status=paid", buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="invoices.csv"' in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert {r["number"] for r in rows} == {billing["paid_number"], billing["bob_number"]}
    assert {r["total"] for r in rows} == {"5390"} and {r["status"] for r in rows} == {"paid"}
    assert {r["email"] for r in rows} == {"ada@example.test", "bob@example.test"}


def test_the_transaction_csv_holds_the_filtered_rows(admin_client, billing):
    rows = _csv(admin_client.get("/admin/transactions.csv?q=bob", buffered=True))
    assert len(rows) == 1 and rows[0]["email"] == "bob@example.test" and rows[0]["amount"] == "5390"
    assert rows[0]["gateway"] == "bank_transfer" and rows[0]["status"] == "succeeded"


def test_the_csv_export_streams_in_chunks(app, admin_client, billing, live_server):
    with app.app_context():
        user = make_user(username="bulk")
        plan = db.session.scalar(sa.select(Subscription.plan_id).where(Subscription.id == billing["active"]))
        InvoiceFactory.create_batch(2500, user=user, plan=db.session.get(Plan, plan))
    cookie = admin_client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    request = urllib.request.Request(
        live_server.url("/admin/invoices.csv"), headers={"Cookie": f"{cookie.key}={cookie.value}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        # Sent as it is written (chunked, no length known up front): the rows never sit in memory together.
        assert response.status == 200 and response.headers.get("Content-Length") is None
        assert response.headers.get("Transfer-Encoding") == "chunked"
        first = response.readline().decode()
        body = first + response.read().decode()
    assert first.startswith("number,kind,status,customer")
    assert len(body.strip().splitlines()) == 1 + 2503


# --- Query counts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/invoices", "/admin/transactions", "/admin/subscriptions"])
def test_list_pages_issue_the_same_number_of_queries_for_10_and_200_rows(app, admin_client, count_queries, path):
    with app.app_context():
        plan_id = PlanFactory(product=ProductFactory(name="Pipeline CRM")).id

    def fill(count: int, prefix: str):
        """`count` customers, each with a subscription, an invoice and the transaction that paid it."""
        with app.app_context():
            plan = db.session.get(Plan, plan_id)
            for n in range(count):
                customer = make_user(username=f"{prefix}{n}")
                SubscriptionFactory(user_id=customer.id, plan=plan)
                InvoiceFactory(user=customer, plan=plan, status="paid")

    def measure() -> int:
        with count_queries() as q:
            assert admin_client.get(path + "?per_page=100").status_code == 200
        return q.count

    fill(10, "a")
    measure()  # warm the per-process caches (the role's permissions)
    small = measure()
    fill(190, "b")
    assert measure() == small


# --- Dashboard -------------------------------------------------------------------------------------------------


def test_the_dashboard_charts_net_revenue_per_month(app, admin_client, billing):
    with app.app_context():
        plan = db.session.get(Plan, db.session.get(Subscription, billing["active"]).plan_id)
        ada = db.session.get(User, billing["ada"])
        now = utcnow()
        two_months_ago = (now.replace(day=1) - timedelta(days=40)).replace(day=15)
        InvoiceFactory.create_batch(2, user=ada, plan=plan, status="paid", now=two_months_ago)
        InvoiceFactory(user=ada, plan=plan, status="open", now=two_months_ago)  # unpaid: not revenue
        InvoiceFactory(user=ada, plan=plan, status="paid", now=now - timedelta(days=800))  # too old for the chart
        refund_invoice(billing["paid"], None, "Goodwill")
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "Revenue, last 12 months" in page and "<svg" in page
    # This month: two paid invoices ($53.90 each) minus one refund; two months ago: two paid invoices.
    assert f"{now:%b %Y}: $53.90" in page
    assert f"{two_months_ago:%b %Y}: $107.80" in page
    assert page.count('class="bar"') == 12
    assert "$161.70" in page  # the 12-month total


def test_list_totals_skip_the_users_join_unless_a_filter_needs_it(app):
    from app.admin.queries import BillingFilters, count_without_user_join, invoices
    from app.models.billing import Invoice

    with app.app_context():
        count = str(count_without_user_join(invoices(BillingFilters(status="paid")), Invoice))
        assert "users" not in count and "invoice.status" in count
        assert count_without_user_join(invoices(BillingFilters(q="ada")), Invoice) is None
