"""Emails and notices say times on the recipient's clock (their profile's zone), whoever's request
queued them and wherever that browser was: the worker looks the zone up when it renders."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Subscription
from app.models.notification import Notification
from app.models.user import User
from tests.factories import DEFAULT_PASSWORD, PlanFactory, ProductFactory, SubscriptionFactory
from tests.support.users import make_user, sign_in


def _on_the_clock_of(app, user_id, zone: str) -> str:
    """When the user's password changed, as a person in `zone` reads it: "07 Dec 2026, 14:05 CET"."""
    with app.app_context():
        changed = db.session.get(User, user_id).password_changed_at.astimezone(ZoneInfo(zone))
    return f"{changed:%d %b %Y, %H:%M} {changed.tzname()}"


def _client_for(app, **user_fields):
    client = app.test_client()
    with app.app_context():
        user = make_user(**user_fields)
        sign_in(client, user)
        client.user_id = user.id
    return client


def test_the_password_notice_shows_berlin_time_to_a_berlin_user_on_a_new_york_browser(app, smtp_sink, run_jobs):
    client = _client_for(app, username="ada", email="ada@example.test", timezone="Europe/Berlin")
    client.set_cookie("tz", "America/New_York")
    response = client.post(
        "/account/password", data={"current_password": DEFAULT_PASSWORD, "password": "a brand new passphrase 42"}
    )
    assert response.status_code == 303
    berlin, new_york = (_on_the_clock_of(app, client.user_id, zone) for zone in ("Europe/Berlin", "America/New_York"))
    assert berlin.endswith(("CET", "CEST")) and new_york.endswith(("EST", "EDT"))
    assert run_jobs() == 1
    [message] = smtp_sink.wait_for(1)
    for body in (smtp_sink.text(message), smtp_sink.html(message)):
        assert f"changed on {berlin}" in body
        assert new_york not in body


def test_a_cancellation_by_a_new_york_admin_reads_on_the_berlin_customers_calendar(app, smtp_sink, run_jobs):
    admin = _client_for(app, username="root", role="admin", timezone="America/New_York")
    with app.app_context():
        ada = make_user(username="ada", email="ada@example.test", timezone="Europe/Berlin")
        plan = PlanFactory(product=ProductFactory(name="Pipeline CRM"))
        # 23:30 UTC: already the next day in Berlin, still that day in New York.
        end = (datetime.now(UTC) + timedelta(days=20)).replace(hour=23, minute=30, second=0, microsecond=0)
        sub = SubscriptionFactory(user_id=ada.id, plan=plan)
        sub.current_period_end = end
        db.session.commit()
        sub_id, ada_id = sub.id, ada.id
    new_york_day, berlin_day = f"{end:%d %b %Y}", f"{end + timedelta(days=1):%d %b %Y}"

    page = admin.post(f"/admin/subscriptions/{sub_id}/cancel", data={"when": "period_end"}, follow_redirects=True)
    assert f"will end on {new_york_day}" in page.text  # the admin reads their own calendar
    with app.app_context():
        assert db.session.get(Subscription, sub_id).cancel_at_period_end
        title = db.session.scalar(sa.select(Notification.title).where(Notification.user_id == ada_id))
    assert title == f"Pipeline CRM will end on {berlin_day}"

    assert run_jobs() == 1
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == f"Your Pipeline CRM subscription will end on {berlin_day}"
    assert f"will end on {berlin_day}" in smtp_sink.text(message)
    assert new_york_day not in smtp_sink.text(message)


def test_a_recipient_without_a_zone_reads_utc_and_is_told_so(app, smtp_sink, run_jobs):
    client = _client_for(app, username="ada", email="ada@example.test")
    client.set_cookie("tz", "Asia/Tokyo")  # the browser's zone is not the recipient's choice
    client.post("/account/password", data={"current_password": DEFAULT_PASSWORD, "password": "another passphrase 7"})
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert f"changed on {_on_the_clock_of(app, client.user_id, 'UTC')}" in smtp_sink.text(message)
