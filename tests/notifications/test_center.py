"""The notification center: listing, pagination, opening and marking read, by HTMX and by plain forms."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.dates import format_timeago
from app.extensions import db
from app.models.notification import Notification
from app.notifications.services import PER_PAGE
from tests.notifications.helpers import HTMX, add_notifications, count_notifications
from tests.support.users import make_user, sign_in


def titles(html: str) -> list[str]:
    return re.findall(r'class="notification-title">(?:<span class="sr-only">Unread: </span>)?([^<]+)</button>', html)


def is_read(notification_id) -> bool:
    return db.session.get(Notification, notification_id).is_read


def test_center_lists_own_notifications_newest_first_with_unread_marked(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 2, title="Unread {n}")
        add_notifications(user.id, 2, title="Read {n}", read=True, age=timedelta(hours=1))
        add_notifications(make_user(username="grace").id, 1, title="Grace's own")

    html = signed_in.get("/notifications/").get_data(as_text=True)

    assert titles(html) == ["Unread 0", "Unread 1", "Read 0", "Read 1"]
    assert html.count('class="notification is-unread"') == 2
    assert html.count('<span class="sr-only">Unread: </span>') == 2
    assert 'You have <strong class="unread-total">2</strong> unread notifications.' in html
    assert "Grace" not in html
    assert "Body 0" in html and "just now" in html and "1 hour ago" in html


def test_center_paginates_and_a_page_out_of_range_shows_the_nearest_page(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, PER_PAGE + 5)

    first = signed_in.get("/notifications/").get_data(as_text=True)
    second = signed_in.get("/notifications/?page=2").get_data(as_text=True)
    assert titles(first)[0] == "Update 0" and len(titles(first)) == PER_PAGE
    assert titles(second) == [f"Update {n}" for n in range(PER_PAGE, PER_PAGE + 5)]
    assert "Page 2 of 2" in second and 'rel="prev"' in second and 'rel="next"' not in second
    for page in ("999", "99999999999999999999999", "-3", "abc", "' OR 1=1 --"):
        response = signed_in.get("/notifications/", query_string={"page": page})
        assert response.status_code == 200
        assert titles(response.get_data(as_text=True))[0] in ("Update 0", f"Update {PER_PAGE}")


def test_empty_center_says_there_is_nothing_yet(signed_in):
    html = signed_in.get("/notifications/").get_data(as_text=True)
    assert "No notifications yet" in html and "You're all caught up." not in html
    assert "Mark all as read" not in html


def test_the_center_needs_a_signed_in_user(client):
    response = client.get("/notifications/")
    assert response.status_code in (302, 401)
    assert client.post("/notifications/read-all").status_code in (302, 401)


def test_marking_one_read_with_a_plain_form_redirects_back_with_303(app, signed_in, user):
    with app.app_context():
        first, second = add_notifications(user.id, 2)

    response = signed_in.post(f"/notifications/{first}/read", data={"page": "1"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/notifications/?page=1#n-{first}"
    with app.app_context():
        assert is_read(first) and not is_read(second)


def test_marking_one_read_by_htmx_swaps_the_item_and_fires_notifications_changed(app, signed_in, user):
    with app.app_context():
        first, _ = add_notifications(user.id, 2)

    response = signed_in.post(f"/notifications/{first}/read", headers=HTMX)

    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "notifications-changed"
    html = response.get_data(as_text=True)
    assert html.startswith(f'<li class="notification" id="n-{first}">')  # no longer is-unread
    assert "Mark as read" not in html.split("</li>")[0]
    # The page head is refreshed out of band: one unread left.
    assert 'id="notification-summary" hx-swap-oob="true"' in html
    assert '<strong class="unread-total">1</strong> unread notification.' in html


def test_marking_a_read_notification_again_changes_nothing_and_fires_nothing(app, signed_in, user):
    with app.app_context():
        [done] = add_notifications(user.id, 1, read=True)
    response = signed_in.post(f"/notifications/{done}/read", headers=HTMX)
    assert response.status_code == 200 and "HX-Trigger" not in response.headers


def test_opening_a_notification_marks_it_read_and_follows_its_link(app, signed_in, user):
    with app.app_context():
        [linked] = add_notifications(user.id, 1, link="/invoices/3f2a")
        [plain] = add_notifications(user.id, 1)

    response = signed_in.post(f"/notifications/{linked}/open")
    assert response.status_code == 303 and response.headers["Location"] == "/invoices/3f2a"

    # Without a link, opening shows the notification in full.
    response = signed_in.post(f"/notifications/{plain}/open")
    assert response.status_code == 303 and response.headers["Location"] == f"/notifications/{plain}"
    with app.app_context():
        assert is_read(linked) and is_read(plain)


@pytest.mark.parametrize("link", ["javascript:alert(1)", "//evil.example/x", "/\\evil.example", "data:text/html,x"])
def test_opening_never_redirects_to_an_unsafe_link(app, signed_in, user, link):
    with app.app_context():
        [n] = add_notifications(user.id, 1, link=link)
    response = signed_in.post(f"/notifications/{n}/open")
    assert response.headers["Location"] == f"/notifications/{n}"


def test_the_detail_page_shows_the_whole_text(app, signed_in, user):
    with app.app_context():
        [n] = add_notifications(user.id, 1)
        db.session.execute(sa.update(Notification).values(body="First paragraph.\n\nSecond <b>paragraph</b>."))
        db.session.commit()
    html = signed_in.get(f"/notifications/{n}").get_data(as_text=True)
    assert "<p>First paragraph.</p><p>Second &lt;b&gt;paragraph&lt;/b&gt;.</p>" in html
    assert "Unread" in html and 'name="return_to" value="detail"' in html
    response = signed_in.post(f"/notifications/{n}/read", data={"return_to": "detail"})
    assert response.headers["Location"] == f"/notifications/{n}"


def test_mark_all_read_with_a_plain_form_redirects_and_says_how_many(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 3)

    response = signed_in.post("/notifications/read-all", data={"page": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/notifications/?page=1"
    html = signed_in.get("/notifications/").get_data(as_text=True)
    assert "Marked 3 notifications as read." in html
    with app.app_context():
        assert count_notifications(is_read=False) == 0


def test_mark_all_read_by_htmx_swaps_the_list_and_fires_notifications_changed(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 3)
        add_notifications(make_user(username="grace").id, 2)

    response = signed_in.post("/notifications/read-all", headers=HTMX)

    assert response.headers["HX-Trigger"] == "notifications-changed"
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="notification-center"') and "<html" not in html
    assert "is-unread" not in html and "You're all caught up." in html
    with app.app_context():
        assert count_notifications(is_read=False) == 2  # Grace's stay unread


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_another_users_notification_is_not_found_to_read_open_or_mark(app, signed_in, headers):
    with app.app_context():
        [theirs] = add_notifications(make_user(username="grace").id, 1, title="Grace's invoice")

    for method, path in (
        ("get", f"/notifications/{theirs}"),
        ("post", f"/notifications/{theirs}/read"),
        ("post", f"/notifications/{theirs}/open"),
    ):
        response = getattr(signed_in, method)(path, headers=headers)
        assert response.status_code == 404, path
        assert "Grace" not in response.get_data(as_text=True)
    with app.app_context():
        assert not is_read(theirs)


def test_malformed_ids_and_wrong_methods_are_client_errors(signed_in):
    assert signed_in.get("/notifications/not-a-uuid").status_code == 404
    assert signed_in.post("/notifications/%3Cscript%3E/read").status_code == 404
    assert signed_in.get("/notifications/read-all").status_code == 405


@pytest.mark.parametrize(
    "value", ["", "<script>alert(1)</script>", "' OR 1=1 --", "admin\u200b", "9" * 40, "https://evil.example/", "-1"]
)
def test_odd_form_values_never_fail_and_never_redirect_away(app, signed_in, user, value):
    with app.app_context():
        [n] = add_notifications(user.id, 1)
    for path in (f"/notifications/{n}/read", "/notifications/read-all"):
        response = signed_in.post(path, data={"page": value, "return_to": value})
        assert response.status_code == 303 and response.headers["Location"].startswith("/notifications/")
        assert signed_in.post(path, data={"page": value}, headers=HTMX).status_code == 200


def test_marking_read_needs_the_csrf_token(app, make_app, user):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    with csrf_app.app_context():
        sign_in(client, user)
        [n] = add_notifications(user.id, 1)

    assert client.post(f"/notifications/{n}/read").status_code == 400
    assert client.post("/notifications/read-all").status_code == 400
    with csrf_app.app_context():
        assert not is_read(n)
    page = client.get("/notifications/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/notifications/{n}/read", data={"csrf_token": token}).status_code == 303
    with csrf_app.app_context():
        assert is_read(n)


def test_titles_and_bodies_are_escaped(app, signed_in, user):
    with app.app_context():
        add_notifications(user.id, 1, title="<script>alert('x')</script> admin\u200b")
    html = signed_in.get("/notifications/").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; admin\u200b" in html


NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=59, seconds=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=23), "23 hours ago"),
        (timedelta(days=1, hours=3), "yesterday"),
        (timedelta(days=6), "6 days ago"),
        (timedelta(days=8), "14 Nov"),
        (timedelta(days=400), "18 Oct 2025"),
        (timedelta(seconds=-30), "just now"),
    ],
)
def test_times_read_relative_to_now(ago, text):
    assert format_timeago(NOW - ago, now=NOW) == text
