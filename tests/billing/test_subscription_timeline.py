"""The subscription page: its timeline after real actions (trial, checkout, renewals by `flask billing run`,
failed payments and retries, cancel and resume), ownership, the viewer's time zone, a query count that does
not grow with the events, and an upcoming invoice equal to the one the next renewal issues."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, Subscription
from app.models.user import Role, User
from tests.support.checkout import CARD_RENEWAL_DECLINES, add_to_cart, card, pay, save_card
from tests.support.users import make_user, sign_in

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ENTRY = re.compile(r'<li class="timeline-entry[^"]*" data-kind="(?P<kind>[a-z_]+)">(?P<body>.*?)</li>', re.S)


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def entries(page: str) -> list[tuple[str, str]]:
    """(kind, text) of each timeline entry, in the page's order."""
    return [(m["kind"], _plain(m["body"])) for m in ENTRY.finditer(page)]


def newest(page: str, kind: str) -> str:
    """The text of the newest entry of `kind`."""
    return next(text for k, text in entries(page) if k == kind)


def kinds(page: str) -> list[str]:
    return [kind for kind, _ in entries(page)]


def upcoming(page: str) -> dict:
    """The upcoming-invoice box: its lines (kind, text, amount), its total, or its 'none' sentence."""
    box = page.split('aria-labelledby="upcoming-title"', 1)[1].split("</section>", 1)[0]
    lines = re.findall(r'<tr data-line-kind="(\w+)"><td>(.*?)</td>\s*<td class="num">(.*?)</td>', box, re.S)
    total = re.search(r"data-upcoming-total><strong>(.*?)</strong>", box)
    return {
        "lines": [(kind, _plain(text), html.unescape(amount)) for kind, text, amount in lines],
        "total": html.unescape(total[1]) if total else None,
        "text": _plain(box),
    }


def invoice_as_shown(invoice: Invoice) -> dict:
    """An issued invoice in the shape `upcoming` reads the page in."""
    from app.money import format_money

    return {
        "lines": [
            (
                line.kind,
                line.description + (f" × {line.quantity}" if line.quantity > 1 else ""),
                format_money(line.amount, invoice.currency),
            )
            for line in invoice.lines
        ],
        "total": format_money(invoice.total, invoice.currency),
    }


@pytest.fixture
def visit(app, client, user):
    """GET a page as `user`, signing in again first (a month of time travel outlasts any session)."""

    def get(path: str, status: int = 200) -> str:
        with app.app_context():
            sign_in(client, user)
        response = client.get(path)
        assert response.status_code == status, response.get_data(as_text=True)[:500]
        return response.get_data(as_text=True)

    return get


@pytest.fixture
def act(app, client, user):
    """POST a form as `user`, signed in again first; it must succeed."""

    def post(path: str, **data: str) -> None:
        with app.app_context():
            sign_in(client, user)
        response = client.post(path, data=data)
        assert response.status_code in (200, 303), response.get_data(as_text=True)[:500]

    return post


def run_billing(runner, clock, moment):
    clock(moment)
    result = runner.invoke(args=["billing", "run"])
    assert result.exit_code == 0, result.output
    return result.output


def _only_subscription(app, **where):
    with app.app_context():
        sub = db.session.scalars(sa.select(Subscription).filter_by(**where)).one()
        db.session.expunge(sub)
        return sub


def _invoices(app, sub_id):
    from sqlalchemy.orm import selectinload

    with app.app_context():
        rows = db.session.scalars(
            sa.select(Invoice)
            .options(selectinload(Invoice.lines))
            .where(Invoice.subscription_id == sub_id)
            .order_by(Invoice.issued_at)
        ).all()
        db.session.expunge_all()
        return rows


def buy(client, plan_id, number=None, quantity=None):
    add_to_cart(client, plan_id, quantity)
    response = pay(client, card(number) if number else None)
    assert response.status_code == 303


def test_another_users_subscription_and_a_malformed_id_are_404s(app, client, user, shop, clock, visit):
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"])
    sub = _only_subscription(app)
    with app.app_context():
        other = make_user(username="grace")
        sign_in(client, other)
    assert client.get(f"/subscriptions/{sub.id}").status_code == 404
    assert "Pipeline CRM" not in client.get(f"/subscriptions/{sub.id}").get_data(as_text=True)
    assert client.get("/subscriptions/not-a-uuid").status_code == 404
    client.get("/auth/logout")
    assert visit(f"/subscriptions/{sub.id}")  # the owner sees it


def test_a_signed_out_visitor_is_sent_to_sign_in(app, client, shop):
    response = client.get("/subscriptions/00000000-0000-0000-0000-000000000001")
    assert response.status_code in (302, 303) and "/auth/login" in response.headers["Location"]


def test_my_subscriptions_links_to_the_page(app, client, user, shop, clock, visit):
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"])
    sub = _only_subscription(app)
    assert f'href="/subscriptions/{sub.id}"' in visit("/subscriptions/")


def test_checkout_renewal_auto_renew_cancel_and_resume_each_appear_with_date_and_amount(
    app, client, user, shop, clock, visit, act, runner
):
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"])  # $49.00 + 10 % fee
    sub = _only_subscription(app)
    url = f"/subscriptions/{sub.id}"
    first = entries(visit(url))
    assert [k for k, _ in first] == ["invoice_paid", "invoice_issued", "created"]
    paid_text = first[0][1]
    assert "02 Mar 2026, 09:00 UTC" in paid_text and "$53.90" in paid_text and "INV-2026-" in paid_text
    assert "Visa •••• 4242" in paid_text
    invoice = _invoices(app, sub.id)[0]
    assert f'href="/invoices/{invoice.id}"' in visit(url) or f"/invoices/{invoice.id}" in visit(url)

    clock(T0 + timedelta(days=3))
    act(f"{url}/auto-renew", auto_renew="off")
    clock(T0 + timedelta(days=3, minutes=1))
    act(f"{url}/auto-renew", auto_renew="on")
    page = visit(url)
    assert kinds(page)[:2] == ["auto_renew", "auto_renew"]
    assert [t for k, t in entries(page) if k == "auto_renew"] == [
        "05 Mar 2026, 09:01 UTC Auto-renew turned on",
        "05 Mar 2026, 09:00 UTC Auto-renew turned off",
    ]

    run_billing(runner, clock, sub.current_period_end)  # 02 Apr 2026: the renewal
    page = visit(url)
    renewal = _invoices(app, sub.id)[1]
    assert kinds(page)[:2] == ["invoice_paid", "invoice_issued"]
    issued = newest(page, "invoice_issued")
    assert renewal.number in issued and "02 Apr 2026, 09:00 UTC" in issued and "$53.90" in issued
    assert "For 02 Apr 2026 – 02 May 2026." in issued

    clock(datetime(2026, 4, 10, 12, 0, tzinfo=UTC))
    act(f"{url}/cancel", when="period_end")
    page = visit(url)
    assert kinds(page)[0] == "cancel_scheduled" and "10 Apr 2026, 12:00 UTC" in entries(page)[0][1]
    assert "No upcoming invoice. It cancels at the end of the period, on 02 May 2026" in upcoming(page)["text"]
    act(f"{url}/resume")
    page = visit(url)
    assert kinds(page)[:2] == ["resumed", "cancel_scheduled"]
    assert "The scheduled cancellation is off" in entries(page)[0][1]
    assert upcoming(page)["total"] == "$53.90"

    act(f"{url}/cancel", when="now")
    page = visit(url)
    assert kinds(page)[0] == "ended" and "Cancelled" in entries(page)[0][1]
    assert kinds(page).count("ended") == 1  # the audit row of "cancel now" is not said twice
    assert "No upcoming invoice. It ended on 10 Apr 2026." in upcoming(page)["text"]


def test_a_trial_shows_its_start_and_scheduled_end_then_converts_into_the_previewed_invoice(
    app, client, user, shop, clock, visit, act, runner
):
    with app.app_context():
        sign_in(client, user)
    response = client.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])})
    assert response.status_code == 303
    sub = _only_subscription(app)
    url = f"/subscriptions/{sub.id}"
    page = visit(url)
    assert kinds(page) == ["trial_end", "trial_started"]
    assert entries(page)[0][1] == "16 Mar 2026, 09:00 UTC Trial ends scheduled"
    assert "is-upcoming" in page
    # No card yet: the trial ends without a charge, and the page says so.
    assert "No upcoming invoice. The trial ends on 16 Mar 2026. There is no card on file" in upcoming(page)["text"]

    with app.app_context():
        save_card(db.session.get(User, user.id))
    preview = upcoming(visit(url))
    assert "Your trial converts to a paid subscription on 16 Mar 2026, charged to Visa •••• 4242" in preview["text"]

    run_billing(runner, clock, sub.trial_end)
    issued = _invoices(app, sub.id)
    assert len(issued) == 1
    assert preview["lines"] == invoice_as_shown(issued[0])["lines"] and preview["total"] == "$53.90"
    page = visit(url)
    assert kinds(page) == ["invoice_paid", "invoice_issued", "trial_end", "trial_started"]
    assert entries(page)[2][1] == "16 Mar 2026, 09:00 UTC Trial ended"


def test_buying_during_a_trial_ends_it_early_on_the_timeline(app, client, user, shop, clock, visit):
    with app.app_context():
        sign_in(client, user)
    assert client.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])}).status_code == 303
    clock(T0 + timedelta(days=5))
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"])
    page = visit(f"/subscriptions/{_only_subscription(app).id}")
    assert kinds(page) == ["invoice_paid", "invoice_issued", "trial_end", "trial_started"]
    assert entries(page)[2][1] == "07 Mar 2026, 09:00 UTC Trial ended early: subscribed at checkout"
    assert "Next invoice 07 Apr 2026" in upcoming(page)["text"]


def test_the_upcoming_invoice_is_the_invoice_the_next_renewal_issues(app, client, user, shop, clock, visit, runner):
    """A discounted yearly plan, three licences, a 10 % fee: the preview's lines and total are the renewal's."""
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["analytics_yearly"], quantity=3)
    sub = _only_subscription(app)
    url = f"/subscriptions/{sub.id}"
    preview = upcoming(visit(url))
    assert [kind for kind, _, _ in preview["lines"]] == ["plan", "discount", "fee"]
    assert "02 Mar 2027" in preview["text"] and "for 02 Mar 2027 – 02 Mar 2028" in preview["text"]

    run_billing(runner, clock, sub.current_period_end)
    renewal = _invoices(app, sub.id)[-1]
    assert renewal.period_start == sub.current_period_end
    shown = invoice_as_shown(renewal)
    assert preview["lines"] == shown["lines"] and preview["total"] == shown["total"]


def test_a_failed_renewal_and_its_retry_appear_linked_to_the_invoice_with_the_next_try(
    app, client, user, shop, clock, visit, act, runner
):
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"], number=CARD_RENEWAL_DECLINES)  # pays at checkout, declines off-session
    sub = _only_subscription(app)
    url = f"/subscriptions/{sub.id}"
    run_billing(runner, clock, sub.current_period_end)
    renewal = _invoices(app, sub.id)[-1]
    page = visit(url)
    assert kinds(page)[:2] == ["payment_failed", "invoice_issued"]
    failed = entries(page)[0][1]
    assert "$53.90" in failed and renewal.number in failed and "02 Apr 2026" in failed
    assert f'href="/invoices/{renewal.id}"' in page
    retry = _only_subscription(app).next_retry_at
    box = upcoming(page)
    assert f"The payment of {renewal.number} failed; it is tried again on {retry:%d %b %Y}" in box["text"]
    assert box["lines"] == invoice_as_shown(renewal)["lines"]

    run_billing(runner, clock, retry)
    page = visit(url)
    assert kinds(page)[:3] == ["payment_failed", "renewal_retried", "payment_failed"]
    assert renewal.number in entries(page)[1][1] and "Payment retried" in entries(page)[1][1]


def test_dates_are_on_the_viewers_clock(app, client, user, shop, clock, visit):
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id).values(timezone="Asia/Tokyo"))
        db.session.commit()
        sign_in(client, user)
    buy(client, shop["crm_team"])
    page = visit(f"/subscriptions/{_only_subscription(app).id}")
    assert dict(entries(page))["created"] == "02 Mar 2026, 18:00 JST Subscribed"


def test_the_query_count_does_not_grow_with_the_events(
    app, client, user, shop, clock, visit, act, runner, count_queries
):
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"])
    sub = _only_subscription(app)
    url = f"/subscriptions/{sub.id}"

    def measure() -> tuple[int, int]:
        visit(url)  # signs in again, outside the count
        with count_queries() as q:
            page = client.get(url).get_data(as_text=True)
        return q.count, len(entries(page))

    few, few_entries = measure()
    moment = sub.current_period_end
    for _ in range(4):  # four monthly renewals, and an auto-renew toggle each month
        run_billing(runner, clock, moment)
        act(f"{url}/auto-renew", auto_renew="off")
        act(f"{url}/auto-renew", auto_renew="on")
        moment = _only_subscription(app).current_period_end
    many, many_entries = measure()
    assert many_entries == few_entries + 4 * 4
    assert many == few


def test_the_admin_subscription_page_shows_the_same_timeline(app, client, user, shop, clock, visit):
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"])
    sub = _only_subscription(app)
    mine = visit(f"/subscriptions/{sub.id}")
    invoice = _invoices(app, sub.id)[0]
    with app.app_context():
        sign_in(client, make_user(username="root", role="admin", totp=True), recent=True)
    response = client.get(f"/admin/subscriptions/{sub.id}")
    assert response.status_code == 200
    staff = response.get_data(as_text=True)
    assert entries(staff) == entries(mine)
    assert upcoming(staff)["lines"] == upcoming(mine)["lines"]
    assert f'href="/admin/invoices/{invoice.id}"' in staff
    with app.app_context():
        sign_in(client, make_user(username="plain"))
    assert client.get(f"/admin/subscriptions/{sub.id}").status_code in (403, 404)


def test_staff_who_may_not_see_invoices_see_the_timeline_without_invoice_links(app, client, user, shop, clock):
    with app.app_context():
        sign_in(client, user)
    buy(client, shop["crm_team"])
    sub = _only_subscription(app)
    with app.app_context():
        support = db.session.scalar(sa.select(Role).where(Role.name == "support"))
        support.permissions = [p for p in support.permissions if p.name != "billing.view"]
        db.session.commit()
        sign_in(client, make_user(username="helper", role="support", totp=True), recent=True)
    response = client.get(f"/admin/subscriptions/{sub.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    number = _invoices(app, sub.id)[0].number
    assert number in newest(page, "invoice_paid") and "/admin/invoices/" not in page


def test_a_trial_extended_by_staff_appears_marked_as_theirs(app, client, user, shop, clock, visit):
    with app.app_context():
        sign_in(client, user)
    assert client.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])}).status_code == 303
    sub = _only_subscription(app)
    with app.app_context():
        sign_in(client, make_user(username="root", role="admin", totp=True), recent=True)
    assert client.post(f"/admin/subscriptions/{sub.id}/extend-trial", data={"days": "5"}).status_code == 303
    page = visit(f"/subscriptions/{sub.id}")
    assert kinds(page) == ["trial_end", "trial_extended", "trial_started"]
    assert entries(page)[0][1] == "21 Mar 2026, 09:00 UTC Trial ends scheduled"
    assert entries(page)[1][1] == "02 Mar 2026, 09:00 UTC Trial extended by 5 days by staff"
