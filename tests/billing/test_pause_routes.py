"""Pause and resume from My subscriptions: HTMX and plain forms, ownership, CSRF, every bad input."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.billing.periods import add_months
from app.dates import format_date
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import Subscription
from app.models.catalog import Plan, Product
from app.models.notification import Notification
from app.models.user import User
from tests.factories import SubscriptionFactory
from tests.support.users import make_user, sign_in

HX = {"HX-Request": "true"}


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _make(app, user_id, plan_id, **fields):
    with app.app_context():
        made = SubscriptionFactory(user=db.session.get(User, user_id), plan=db.session.get(Plan, plan_id), **fields)
        db.session.commit()
        return made.id


@pytest.fixture
def sub(app, signed_in, user, shop):
    """Ada's monthly Pipeline CRM subscription, its period started now."""
    return _make(app, user.id, shop["crm_team"])


def _row(app, sub_id):
    with app.app_context():
        row = db.session.get(Subscription, sub_id)
        db.session.expunge(row)
        return row


def _pause_state(app, sub_id):
    row = _row(app, sub_id)
    return row.status, row.pause_start, row.pause_end, row.current_period_end


def test_pausing_for_one_cycle_by_htmx_says_when_it_starts_and_ends(app, signed_in, sub):
    before = _row(app, sub)
    start, end = before.current_period_end, add_months(before.current_period_end, 1)
    response = signed_in.post(f"/subscriptions/{sub}/pause", data={"cycles": "1"}, headers=HX)
    assert response.status_code == 200
    page = text(response)
    assert (
        f"Pipeline CRM will pause on {format_date(start)}, when the period you paid for ends, "
        f"and resume by itself on {format_date(end)}. Nothing is charged in between."
    ) in page
    assert f"Pauses on {format_date(start)}" in page and "Don't pause" in page
    status, pause_start, pause_end, period_end = _pause_state(app, sub)
    assert (status, pause_start, pause_end, period_end) == ("active", start, end, start)
    with app.app_context():
        [(kind, title)] = db.session.execute(sa.select(Notification.kind, Notification.title)).all()
        assert kind == "subscription_pause_scheduled" and title == f"Pipeline CRM will pause on {format_date(start)}"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "subscription.pause"))
        assert event is not None and event.after["cycles"] == 1


def test_pausing_without_javascript_redirects_to_the_list_with_the_message(app, signed_in, sub):
    response = signed_in.post(f"/subscriptions/{sub}/pause", data={"cycles": "2"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/subscriptions/")
    page = text(signed_in.get("/subscriptions/"))
    assert "will pause on" in page and "Resumes on" in page
    assert _pause_state(app, sub)[2] == add_months(_row(app, sub).current_period_end, 2)


def test_pausing_until_a_date_resumes_at_midnight_on_the_customers_clock(app, signed_in, sub, user):
    with app.app_context():
        db.session.get(User, user.id).timezone = "America/New_York"
        db.session.commit()
    period_end = _row(app, sub).current_period_end
    day = (period_end + timedelta(days=20)).date()
    response = signed_in.post(f"/subscriptions/{sub}/pause", data={"until": day.isoformat()}, headers=HX)
    assert response.status_code == 200, text(response)
    resumes = _pause_state(app, sub)[2]
    assert resumes.astimezone(UTC) == datetime(day.year, day.month, day.day, 5, tzinfo=UTC)  # EST = UTC-5


BAD = [
    ({"cycles": "0"}, "cycles", "Choose 1 to 3 billing periods."),
    ({"cycles": "4"}, "cycles", "Choose 1 to 3 billing periods."),
    ({"cycles": "x"}, "cycles", "Choose 1 to 3 billing periods."),
    ({"cycles": "-1"}, "cycles", "Choose 1 to 3 billing periods."),
    ({}, "cycles", "Choose how many billing periods to pause for, or a date to resume on."),
    ({"cycles": "", "until": ""}, "cycles", "Choose how many billing periods to pause for, or a date to resume on."),
    ({"cycles": "1", "until": "2030-01-01"}, "cycles", "not both"),
    ({"until": "next week"}, "until", "Enter the date to resume on as YYYY-MM-DD"),
    ({"until": "2027-02-30"}, "until", "Enter the date to resume on as YYYY-MM-DD"),
    ({"until": "2020-01-01"}, "until", "Choose a date in the future."),
]


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("data,field,message", BAD, ids=[str(b[0]) for b in BAD])
def test_bad_pause_input_is_a_400_beside_the_field_and_changes_nothing(app, signed_in, sub, data, field, message, htmx):
    before = _pause_state(app, sub)
    response = signed_in.post(f"/subscriptions/{sub}/pause", data=data, headers=HX if htmx else {})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    error = re.search(rf'id="pause-{sub}-{field}-error"[^>]*>([^<]*)<', body)
    assert error is not None and message in html.unescape(error.group(1))
    assert f'id="pause-{sub}-{field}"' in body and '<details class="cancel-menu pause-menu" open>' in body
    if not htmx:
        assert "<h1>My subscriptions</h1>" in body  # the whole page, with the card's panel open
    assert _pause_state(app, sub) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_a_date_before_the_paid_period_ends_or_beyond_three_periods_is_refused(app, signed_in, sub):
    period_end = _row(app, sub).current_period_end
    early = (period_end - timedelta(days=3)).date().isoformat()
    response = signed_in.post(f"/subscriptions/{sub}/pause", data={"until": early}, headers=HX)
    assert response.status_code == 400
    assert f"The pause starts on {format_date(period_end)}, when the period you paid for ends" in text(response)
    late = (add_months(period_end, 3) + timedelta(days=2)).date().isoformat()
    response = signed_in.post(f"/subscriptions/{sub}/pause", data={"until": late}, headers=HX)
    assert response.status_code == 400
    assert f"A pause lasts at most 3 billing periods: choose {format_date(add_months(period_end, 3))}" in text(response)
    assert _pause_state(app, sub)[1] is None


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"cancel_at_period_end": True}, "is set to end on"),
        ({"status": "past_due"}, "has a payment due, so it can't be paused"),
        ({"auto_renew": False}, "Auto-renew is off"),
    ],
    ids=["cancel-scheduled", "past-due", "auto-renew-off"],
)
def test_a_subscription_that_cannot_be_paused_says_why_with_a_409(app, signed_in, user, shop, fields, message):
    sid = _make(app, user.id, shop["crm_team"], **fields)
    response = signed_in.post(f"/subscriptions/{sid}/pause", data={"cycles": "1"}, headers=HX)
    assert response.status_code == 409 and message in text(response)
    assert _pause_state(app, sid)[1] is None


def test_another_customers_subscription_is_a_404_for_pause_and_resume(app, signed_in, shop):
    with app.app_context():
        grace = make_user(username="grace")
        theirs = SubscriptionFactory(user=grace, plan=db.session.get(Plan, shop["crm_team"]))
        db.session.commit()
        sid = theirs.id
    for data in ({"cycles": "1"}, {"cycles": "9"}):
        assert signed_in.post(f"/subscriptions/{sid}/pause", data=data, headers=HX).status_code == 404
    assert signed_in.post(f"/subscriptions/{sid}/resume", headers=HX).status_code == 404
    assert signed_in.post("/subscriptions/not-an-id/pause", data={"cycles": "1"}).status_code == 404
    assert _pause_state(app, sid)[1] is None


def test_resume_calls_off_a_pause_that_has_not_started(app, signed_in, sub):
    signed_in.post(f"/subscriptions/{sub}/pause", data={"cycles": "1"}, headers=HX)
    period_end = _row(app, sub).current_period_end
    page = text(signed_in.post(f"/subscriptions/{sub}/resume", headers=HX))
    assert f"The pause is called off. Pipeline CRM renews on {format_date(period_end)} as usual." in page
    assert _pause_state(app, sub) == ("active", None, None, period_end)


def test_resume_ends_a_running_pause_early_and_moves_the_period_end_to_now(app, signed_in, user, shop):
    now = datetime.now(UTC)
    sid = _make(
        app,
        user.id,
        shop["crm_team"],
        status="paused",
        current_period_start=now - timedelta(days=40),
        current_period_end=now - timedelta(days=10),
        pause_start=now - timedelta(days=10),
        pause_end=now + timedelta(days=20),
    )
    page = text(signed_in.post(f"/subscriptions/{sid}/resume", headers=HX))
    assert "Pipeline CRM is running again. Its next period starts now and is charged now." in page
    status, pause_start, pause_end, period_end = _pause_state(app, sid)
    assert (status, pause_start, pause_end) == ("active", None, None)
    assert now <= period_end <= datetime.now(UTC)
    with app.app_context():
        kinds = db.session.scalars(sa.select(Notification.kind)).all()
        assert kinds == ["subscription_pause_ended"]


def test_a_paused_card_says_until_when_and_whether_access_continues(app, signed_in, user, shop):
    now = datetime.now(UTC)
    sid = _make(
        app,
        user.id,
        shop["crm_team"],
        status="paused",
        current_period_end=now - timedelta(days=1),
        pause_start=now - timedelta(days=1),
        pause_end=now + timedelta(days=29),
    )
    page = text(signed_in.get("/subscriptions/"))
    assert f"Paused until {format_date(now + timedelta(days=29))}" in page and "None while paused" in page
    assert "Resume now" in page and "Cancel at period end" not in page
    with app.app_context():
        product_id = db.session.get(Plan, shop["crm_team"]).product_id
        db.session.get(Product, product_id).access_while_paused = True
        db.session.commit()
    assert "Continues while paused" in text(signed_in.get("/subscriptions/"))
    assert _row(app, sid).status == "paused"


@pytest.fixture
def csrf_client(make_app, shop):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        owner = make_user(username="grace")
        sign_in(client, owner)
        sid = SubscriptionFactory(user=owner, plan=db.session.get(Plan, shop["crm_team"])).id
        db.session.commit()
    return app, client, sid


def test_pause_and_resume_without_a_csrf_token_are_refused(csrf_client):
    app, client, sid = csrf_client
    for path in (f"/subscriptions/{sid}/pause", f"/subscriptions/{sid}/resume"):
        response = client.post(path, data={"cycles": "1"})
        assert response.status_code == 400 and "Your form expired" in response.get_data(as_text=True)
    assert _pause_state(app, sid)[1] is None


def test_the_pause_emails_say_the_dates_on_the_customers_clock(app, signed_in, user, shop, smtp_sink, run_jobs):
    """The period ends at 20:00 UTC: already the next day in Tokyo, where Ada lives."""
    from app.billing.services import lifecycle

    with app.app_context():
        db.session.get(User, user.id).timezone = "Asia/Tokyo"
        db.session.commit()
    period_end = datetime(2027, 3, 31, 20, 0, tzinfo=UTC)
    sid = _make(
        app,
        user.id,
        shop["crm_team"],
        current_period_start=datetime(2027, 2, 28, 20, 0, tzinfo=UTC),
        current_period_end=period_end,
    )
    assert signed_in.post(f"/subscriptions/{sid}/pause", data={"cycles": "1"}, headers=HX).status_code == 200
    run_jobs()
    [scheduled] = smtp_sink.wait_for(1)
    assert scheduled["Subject"] == "Your Pipeline CRM subscription will pause on 01 Apr 2027"
    body = smtp_sink.text(scheduled)
    assert "resume by itself on 01 May 2027" in body and "You won't have access while it is paused." in body

    with app.app_context():
        assert lifecycle.run(period_end)["pauses started"] == 1
        db.session.remove()
    run_jobs()
    paused = smtp_sink.wait_for(2)[-1]
    assert paused["Subject"] == "Your Pipeline CRM subscription is paused until 01 May 2027"
    assert "you won't be charged until then" in smtp_sink.text(paused)


def test_a_free_trial_cannot_be_paused(app, signed_in, user, shop):
    now = datetime.now(UTC)
    sid = _make(
        app, user.id, shop["crm_team"], status="trial", trial_end=now + timedelta(days=14), current_period_end=now
    )
    response = signed_in.post(f"/subscriptions/{sid}/pause", data={"cycles": "1"}, headers=HX)
    assert response.status_code == 409 and "A free trial can't be paused." in text(response)


def test_cancelling_at_period_end_drops_a_planned_pause_and_cancelling_a_paused_one_ends_it_now(
    app, signed_in, user, shop, sub
):
    signed_in.post(f"/subscriptions/{sub}/pause", data={"cycles": "1"}, headers=HX)
    signed_in.post(f"/subscriptions/{sub}/cancel", data={"when": "period_end"}, headers=HX)
    row = _row(app, sub)
    assert row.cancel_at_period_end and (row.pause_start, row.pause_end) == (None, None)

    now = datetime.now(UTC)
    with app.app_context():
        other = db.session.get(Plan, shop["analytics"])
        paused = SubscriptionFactory(
            user=db.session.get(User, user.id),
            plan=other,
            status="paused",
            current_period_end=now - timedelta(days=1),
            pause_start=now - timedelta(days=1),
            pause_end=now + timedelta(days=20),
        )
        db.session.commit()
        pid = paused.id
    page = text(signed_in.post(f"/subscriptions/{pid}/cancel", data={"when": "period_end"}, headers=HX))
    assert "is cancelled" in page
    row = _row(app, pid)
    assert row.status == "cancelled" and (row.pause_start, row.pause_end) == (None, None)
