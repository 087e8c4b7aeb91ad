"""`flask billing run --at`: a year of a subscription in seconds, through the CLI runner, with and without a pause."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.billing.periods import add_months
from app.extensions import db
from app.models.billing import BillingClock, Invoice, Subscription
from app.models.catalog import Plan
from app.models.notification import Notification
from app.models.user import User
from tests.factories import SubscriptionFactory
from tests.support.checkout import save_card

START = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def monthly(app, user, shop):
    """Ada's monthly Pipeline CRM Team subscription, paid for January 2027, with a card on file for renewals."""
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


def _run(runner, moment: datetime, *extra: str):
    return runner.invoke(args=["billing", "run", "--at", _at(moment), *extra])


def _invoices(app, sub_id) -> list[Invoice]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Invoice).where(Invoice.subscription_id == sub_id).order_by(Invoice.period_start)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _sub(app, sub_id) -> Subscription:
    with app.app_context():
        row = db.session.get(Subscription, sub_id)
        db.session.expunge(row)
        return row


def test_a_year_walked_with_at_issues_twelve_paid_monthly_invoices(app, runner, monthly):
    for month in range(1, 13):
        result = _run(runner, add_months(START, month))
        assert result.exit_code == 0, result.output
        assert f"billing run as of {_at(add_months(START, month))}:" in result.output
    invoices = _invoices(app, monthly)
    assert len(invoices) == 12 and all(i.status == "paid" for i in invoices)
    assert [i.period_start for i in invoices] == [add_months(START, m) for m in range(1, 13)]
    sub = _sub(app, monthly)
    assert sub.status == "active" and sub.current_period_end == add_months(START, 13)


def test_running_the_same_instant_twice_does_nothing_more(app, runner, monthly):
    assert _run(runner, add_months(START, 1)).exit_code == 0
    again = _run(runner, add_months(START, 1))
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert len(_invoices(app, monthly)) == 1


def test_a_two_cycle_pause_in_the_middle_of_the_year_leaves_ten_invoices_and_moves_the_period_end(
    app, runner, monthly, signed_in
):
    for month in range(1, 4):  # February, March and April are paid
        assert _run(runner, add_months(START, month)).exit_code == 0
    paid_until = add_months(START, 4)
    response = signed_in.post(f"/subscriptions/{monthly}/pause", data={"cycles": "2"})
    assert response.status_code == 303
    assert (_sub(app, monthly).pause_start, _sub(app, monthly).pause_end) == (paid_until, add_months(START, 6))

    started = _run(runner, paid_until)
    assert "pauses started: 1" in started.output and "charges succeeded" not in started.output
    assert _sub(app, monthly).status == "paused"
    quiet = _run(runner, add_months(START, 5))
    assert "nothing to do" in quiet.output
    ended = _run(runner, add_months(START, 6))
    assert "pauses ended: 1" in ended.output and "charges succeeded: 1" in ended.output
    for month in range(7, 13):
        assert _run(runner, add_months(START, month)).exit_code == 0

    invoices = _invoices(app, monthly)
    assert len(invoices) == 10 and all(i.status == "paid" for i in invoices)
    starts = [i.period_start for i in invoices]
    assert add_months(START, 4) not in starts and add_months(START, 5) not in starts
    sub = _sub(app, monthly)
    # Paid through January 2028 again, two months fewer invoices: the period end moved by the two paused months.
    assert sub.status == "active" and sub.current_period_end == add_months(START, 13)
    assert (sub.pause_start, sub.pause_end) == (None, None)
    with app.app_context():
        kinds = db.session.scalars(sa.select(Notification.kind).order_by(Notification.created_at)).all()
    assert kinds.count("subscription_pause_scheduled") == 1 and kinds.count("subscription_paused") == 1
    assert kinds.count("subscription_pause_ended") == 1


def test_an_instant_before_the_latest_run_is_refused_and_changes_nothing(app, runner, monthly):
    assert _run(runner, add_months(START, 2)).exit_code == 0
    before = len(_invoices(app, monthly))
    back = _run(runner, add_months(START, 1))
    assert back.exit_code == 1
    assert back.output.strip() == (
        f"Error: The latest billing run was as of {_at(add_months(START, 2))}; time only moves forward, "
        f"so choose that instant or a later one (not {_at(add_months(START, 1))})."
    )
    assert len(_invoices(app, monthly)) == before
    with app.app_context():
        assert db.session.scalar(sa.select(BillingClock.latest_run_at)) == add_months(START, 2)
    dry = _run(runner, add_months(START, 1), "--dry-run")
    assert dry.exit_code == 1 and "time only moves forward" in dry.output


def test_time_travel_is_refused_in_production_without_the_setting(app, runner, monthly):
    app.config.update(APP_ENV="production", BASE_URL="https://shop.example.com")  # links need it there
    refused = _run(runner, add_months(START, 1))
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "Error: Time travel is off in production: `flask billing run --at` runs only in development and test, "
        "or in production with BILLING_TIME_TRAVEL=1."
    )
    assert _invoices(app, monthly) == []
    with app.app_context():
        assert db.session.scalar(sa.select(BillingClock.latest_run_at)) is None
    app.config["BILLING_TIME_TRAVEL"] = True
    assert _run(runner, add_months(START, 1)).exit_code == 0
    assert len(_invoices(app, monthly)) == 1


def test_a_malformed_instant_is_a_usage_error(runner):
    result = runner.invoke(args=["billing", "run", "--at", "next tuesday"])
    assert result.exit_code == 2 and "write it like 2027-01-15T00:00:00Z" in result.output


def test_a_planned_pause_with_auto_renew_turned_off_expires_at_the_period_end_instead(app, runner, monthly, signed_in):
    assert signed_in.post(f"/subscriptions/{monthly}/pause", data={"cycles": "1"}).status_code == 303
    assert signed_in.post(f"/subscriptions/{monthly}/auto-renew", data={"auto_renew": "off"}).status_code == 303
    result = _run(runner, add_months(START, 1))
    assert "expired: 1" in result.output and "pauses started" not in result.output
    sub = _sub(app, monthly)
    assert (sub.status, sub.pause_start, sub.pause_end) == ("expired", None, None)
    assert _invoices(app, monthly) == []
