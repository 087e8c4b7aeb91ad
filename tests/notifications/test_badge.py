"""The navbar badge: the unread count, how it refreshes, and what it costs."""

import re

import pytest
import sqlalchemy as sa
from flask import Response

from app.extensions import db
from app.notifications.routes import add_hx_trigger
from app.notifications.services import notify
from tests.notifications.helpers import HTMX, add_notifications
from tests.support.users import make_user, sign_in


def badge_label(html: str) -> str:
    return re.search(r'class="bell[^"]*" href="/notifications/" aria-label="([^"]+)"', html).group(1)


def test_badge_shows_the_unread_count_with_an_accessible_label(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 3)
        add_notifications(user.id, 2, read=True)

    response = signed_in.get("/notifications/badge", headers=HTMX)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert badge_label(html) == "3 unread notifications"
    assert '<span class="count-badge" aria-hidden="true">3</span>' in html


def test_badge_says_one_in_the_singular_and_caps_at_99_plus(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 1)
    assert badge_label(signed_in.get("/notifications/badge").get_data(as_text=True)) == "1 unread notification"
    with app.app_context():
        add_notifications(user.id, 120)
    html = signed_in.get("/notifications/badge").get_data(as_text=True)
    assert badge_label(html) == "121 unread notifications" and ">99+</span>" in html


def test_badge_count_is_hidden_at_zero(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 2, read=True)
    html = signed_in.get("/notifications/badge").get_data(as_text=True)
    assert "count-badge" not in html
    assert badge_label(html) == "No unread notifications"


def test_badge_polls_every_30_seconds_and_at_once_on_notifications_changed(signed_in):
    html = signed_in.get("/notifications/badge").get_data(as_text=True)
    assert 'hx-get="/notifications/badge"' in html
    assert 'hx-trigger="every 30s, notifications-changed from:body"' in html
    assert 'hx-swap="outerHTML"' in html and 'id="notification-badge"' in html


def test_the_polling_interval_comes_from_config(app, signed_in):
    app.config["NOTIFICATION_POLL_SECONDS"] = 5
    assert 'hx-trigger="every 5s,' in signed_in.get("/notifications/badge").get_data(as_text=True)


def test_every_page_shows_the_badge_to_signed_in_users_only(app, client, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 2)
    assert badge_label(signed_in.get("/").get_data(as_text=True)) == "2 unread notifications"
    anonymous = app.test_client().get("/").get_data(as_text=True)
    assert "notification-badge" not in anonymous


def test_a_signed_out_badge_stops_polling(app):
    response = app.test_client().get("/notifications/badge", headers=HTMX)
    assert response.status_code == 286 and response.get_data() == b""  # htmx: stop polling


def test_the_badge_costs_one_count_query(app, signed_in, user, count_queries):
    with app.app_context():
        add_notifications(user.id, 4)
    signed_in.get("/notifications/badge")  # warm up: the session's last-seen update is not the badge's
    with count_queries() as queries:
        signed_in.get("/notifications/badge")
    on_notifications = [s for s in queries.statements if "notification" in s]
    assert len(on_notifications) == 1
    statement = " ".join(on_notifications[0].split())
    assert statement.startswith("SELECT count(*) AS count_1 FROM notification WHERE notification.user_id = ")
    assert "AND notification.is_read = " in statement


@pytest.mark.postgres
def test_the_unread_count_is_answered_from_the_index(app, user):
    with app.app_context():
        add_notifications(user.id, 30)
        add_notifications(user.id, 30, read=True)
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE notification"))
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))  # the table is tiny; ask what it *can* use
            plan = "\n".join(
                conn.execute(
                    sa.text("EXPLAIN SELECT count(*) FROM notification WHERE user_id = :u AND is_read = false"),
                    {"u": user.id},
                ).scalars()
            )
    assert "Index Only Scan using ix_notification_user_read_created" in plan, plan


def test_a_request_that_creates_a_notification_tells_the_page(make_app):
    made = make_app()

    @made.post("/_pay")
    def pay():
        grace = make_user(username="grace")
        notify(grace.id, "payment_receipt", "Payment received")
        db.session.commit()
        return "ok"

    @made.post("/_nothing")
    def nothing():
        return "ok"

    client = made.test_client()
    assert client.post("/_pay", headers=HTMX).headers["HX-Trigger"] == "notifications-changed"
    assert "HX-Trigger" not in client.post("/_nothing", headers=HTMX).headers


def test_the_trigger_joins_events_another_handler_set():
    listed, as_json, empty = Response(), Response(), Response()
    listed.headers["HX-Trigger"] = "cart-changed"
    as_json.headers["HX-Trigger"] = '{"showToast": "Saved"}'
    for response in (listed, as_json, empty):
        add_hx_trigger(response, "notifications-changed")
        add_hx_trigger(response, "notifications-changed")
    assert listed.headers["HX-Trigger"] == "cart-changed, notifications-changed"
    assert as_json.headers["HX-Trigger"] == '{"showToast": "Saved", "notifications-changed": ""}'
    assert empty.headers["HX-Trigger"] == "notifications-changed"


def test_notify_with_email_queues_the_kind_with_an_absolute_link(app, session, user):
    from app.models.outbox import OutboxMessage

    app.config["BASE_URL"] = "https://shop.example.com"
    notify(user.id, "announcement", "Maintenance", "Sunday, 10 minutes.", link="/status", email=True)
    session.commit()
    [message] = session.scalars(sa.select(OutboxMessage)).all()
    assert message.func == "jobs.email.send_email" and message.queue == "default"
    assert message.args[0] == {
        "to": "ada@example.test",
        "template": "announcement",
        "context": {
            "name": "ada",
            "title": "Maintenance",
            "body": "Sunday, 10 minutes.",
            "link": "https://shop.example.com/status",
        },
        "user_id": str(user.id),  # the worker shows times on the recipient's clock
    }


def test_signing_in_elsewhere_sees_the_same_count(app, user):
    with app.app_context():
        add_notifications(user.id, 2)
    other = app.test_client()
    with app.app_context():
        sign_in(other, user)
    assert badge_label(other.get("/notifications/badge").get_data(as_text=True)) == "2 unread notifications"
