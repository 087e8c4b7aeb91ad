"""A person on a mobile client, over HTTP: sign up, verify by emailed code, sign in, browse, read notifications."""

from __future__ import annotations

import re

from tests.api.conftest import api_login, bearer, problem_of
from tests.factories import NotificationFactory, ProductFactory
from tests.support.jobs import JobRunner
from tests.support.users import make_user

GRACE = {"username": "grace_h", "email": "grace@example.com", "password": "analytical engine 1843"}


def _code_for(app, smtp_sink, address: str) -> str:
    JobRunner(app)()
    message = smtp_sink.wait_for(1)[-1]
    assert message["To"] == address
    return re.search(r"\b(\d{6})\b", smtp_sink.text(message)).group(1)


def test_signup_verify_login_browse_and_read_notifications(app, client, smtp_sink):
    with app.app_context():
        ProductFactory(slug="ledger", name="Ledger", plans=True)
        ProductFactory(slug="atlas", name="Atlas", plans=True)
        ProductFactory(slug="beacon", name="Beacon", plans=True)

    free = client.get("/api/v1/auth/check-username", query_string={"username": "grace_h"}).get_json()
    assert free["status"] == "available"
    signup = client.post("/api/v1/auth/signup", json=GRACE)
    assert signup.status_code == 202 and signup.get_json()["status"] == "verification_sent"
    code = _code_for(app, smtp_sink, "grace@example.com")

    verified = client.post(
        "/api/v1/auth/verify", json={"email": "grace@example.com", "code": code, "client_name": "Grace's phone"}
    )
    assert verified.status_code == 200 and verified.get_json()["status"] == "signed_in"
    login = client.post("/api/v1/auth/login", json={"identifier": "grace@example.com", "password": GRACE["password"]})
    token = login.get_json()["access_token"]
    auth = bearer(token)

    me = client.get("/api/v1/me", headers=auth).get_json()
    assert me["username"] == "grace_h" and me["email_verified"] is True
    renamed = client.patch("/api/v1/me", json={"first_name": "Grace", "timezone": "Europe/London"}, headers=auth)
    assert renamed.get_json()["first_name"] == "Grace" and renamed.get_json()["timezone"] == "Europe/London"

    first = client.get("/api/v1/products", query_string={"limit": 2}, headers=auth).get_json()
    assert [p["name"] for p in first["items"]] == ["Atlas", "Beacon"] and first["total"] == 3
    assert first["items"][0]["from_prices"]["monthly"] == {"amount": 1000, "currency": "USD"}
    second = client.get(first["next"], headers=auth).get_json()
    assert [p["name"] for p in second["items"]] == ["Ledger"] and second["next_cursor"] is None
    detail = client.get(f"/api/v1/products/{first['items'][0]['id']}", headers=auth).get_json()
    assert detail["slug"] == "atlas" and detail["plans"] and detail["current_subscription_id"] is None
    searched = client.get("/api/v1/products", query_string={"q": "ledger"}, headers=auth).get_json()
    assert [p["slug"] for p in searched["items"]] == ["ledger"]

    inbox = client.get("/api/v1/notifications", headers=auth).get_json()
    [welcome] = inbox["items"]
    assert welcome["kind"] == "welcome" and welcome["is_read"] is False
    read = client.post(f"/api/v1/notifications/{welcome['id']}/read", headers=auth)
    assert read.status_code == 200 and read.get_json()["is_read"] is True
    assert client.get("/api/v1/notifications", query_string={"unread": "true"}, headers=auth).get_json()["items"] == []


def test_notifications_page_by_cursor_newest_first_and_read_all(app, client):
    with app.app_context():
        ada = make_user(username="ada")
        for n in range(5):
            NotificationFactory(user=ada, title=f"note {n}")

    auth = bearer(api_login(client, "ada")["access_token"])

    seen, url = [], "/api/v1/notifications?limit=2"
    while url:
        page = client.get(url, headers=auth).get_json()
        seen += [item["title"] for item in page["items"]]
        url = page["next"]

    assert sorted(seen) == [f"note {n}" for n in range(5)] and len(set(seen)) == 5
    assert client.post("/api/v1/notifications/read-all", headers=auth).get_json() == {"marked_read": 5}


def test_another_users_notification_is_a_404(app, client):
    with app.app_context():
        make_user(username="ada")
        bob = make_user(username="bob")
        theirs = NotificationFactory(user=bob).id

    auth = bearer(api_login(client, "ada")["access_token"])

    problem_of(client.post(f"/api/v1/notifications/{theirs}/read", headers=auth), 404)
