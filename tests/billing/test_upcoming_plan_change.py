"""The upcoming invoice of a subscription with a downgrade (or fewer seats) scheduled for the period end: it
prices the new plan and seats, says so, and the renewal run bills exactly that total."""

import html
import re
from datetime import UTC, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, Subscription
from tests.support.checkout import change_fields, change_form, held_subscription, hidden, per_seat


def _upcoming(client, sub_id) -> tuple[str, str]:
    """The upcoming invoice's total as shown, and the section's text."""
    page = client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)
    section = page[page.index('id="upcoming-title"') : page.index("</section>", page.index('id="upcoming-title"'))]
    total = re.search(r"data-upcoming-total><strong>([^<]+)</strong>", section)
    assert total, section
    return html.unescape(total.group(1)), html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section)))


def _renew(app, runner, sub_id) -> Invoice:
    with app.app_context():
        end = db.session.get(Subscription, sub_id).current_period_end
    at = (end + timedelta(minutes=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = runner.invoke(args=["billing", "run", "--at", at])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return db.session.scalars(
            sa.select(Invoice).where(Invoice.subscription_id == sub_id, Invoice.period_start == end)
        ).one()


def _money(minor: int) -> str:
    return f"${minor / 100:,.2f}"


def test_a_scheduled_downgrade_is_the_upcoming_invoice_and_the_renewal_bills_exactly_it(
    app, signed_in, user, shop, runner, gateway
):
    with app.app_context():
        sub_id = held_subscription(user.id, shop["crm_pro"], days_in=5)
    before, _ = _upcoming(signed_in, sub_id)
    assert before == "$108.90"  # Pro 99.00 + 10 %
    form = change_form(signed_in, sub_id, shop["crm_team"])
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=form).status_code == 303
    total, section = _upcoming(signed_in, sub_id)
    assert total == "$53.90" and "after your switch to Team" in section  # Team 49.00 + 10 %
    renewal = _renew(app, runner, sub_id)
    assert _money(renewal.total) == total and renewal.status == "paid"
    assert [c["amount"] for c in gateway.charges()] == [renewal.total]


def test_fewer_seats_scheduled_are_the_upcoming_invoice_and_the_renewal_bills_exactly_it(
    app, signed_in, user, shop, runner
):
    per_seat(app, shop["crm_team"], min_seats=2, max_seats=10)
    with app.app_context():
        sub_id = held_subscription(user.id, shop["crm_team"], days_in=5)
        db.session.get(Subscription, sub_id).quantity = 5
        db.session.commit()
    assert _upcoming(signed_in, sub_id)[0] == "$269.50"  # 5 × 49.00 + 10 %
    page = signed_in.get(f"/subscriptions/{sub_id}/change?plan={shop['crm_team']}&quantity=2").get_data(as_text=True)
    form = {**change_fields(page), "quantity": hidden(page, "quantity")}
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=form).status_code == 303
    total, section = _upcoming(signed_in, sub_id)
    assert total == "$107.80" and "after your switch to Team × 2 seats" in section
    assert _money(_renew(app, runner, sub_id).total) == total


def test_without_a_scheduled_change_the_upcoming_invoice_names_no_switch(app, signed_in, user, shop):
    with app.app_context():
        sub_id = held_subscription(user.id, shop["crm_team"])
    total, section = _upcoming(signed_in, sub_id)
    assert total == "$53.90" and "switch" not in section
