"""The live username check: validation first, Redis cache, stampede guard, suggestions."""

import threading

import pytest

from app.auth.usernames import AVAILABLE_TTL, TAKEN_TTL, candidate_names
from tests.support.users import make_user

HX = {"HX-Request": "true"}


def _check(client, name):
    return client.get("/auth/check-username", query_string={"username": name}, headers=HX)


def _users_queries(counter):
    return [s for s in counter.statements if "FROM users" in s]


def test_an_available_name_says_so_and_is_cached_for_five_minutes(app, client):
    response = _check(client, "  Fresh.Name ")
    assert response.status_code == 200
    assert "is-available" in response.text and "fresh.name" in response.text
    redis = app.extensions["redis"]
    assert redis.get("username:fresh.name") == b"available"
    assert 0 < redis.ttl("username:fresh.name") <= AVAILABLE_TTL


def test_a_taken_name_is_cached_for_an_hour_with_five_available_suggestions(app, client):
    with app.app_context():
        make_user(username="ada")
        make_user(username="ada_official")
    response = _check(client, "ADA")
    assert "is-taken" in response.text
    redis = app.extensions["redis"]
    assert redis.get("username:ada") == b"taken" and TAKEN_TTL - 5 < redis.ttl("username:ada") <= TAKEN_TTL
    shown = [c for c in candidate_names("ada") if f">{c}<" in response.text]
    assert len(shown) == 5 and "ada_official" not in shown
    assert shown == [c for c in candidate_names("ada") if c != "ada_official"][:5]
    assert "hx-get" not in response.text  # a partial, not a page


def test_suggestions_are_deterministic():
    assert candidate_names("ada") == candidate_names("ada")
    assert candidate_names("ada")[:3] == ["ada_official", "ada.hq", "ada_dev"]
    assert candidate_names("ada") != candidate_names("grace")
    long = "x" * 30
    assert all(3 <= len(c) <= 30 for c in candidate_names(long))


@pytest.mark.parametrize(
    "raw, message",
    [
        ("ab", "at least 3"),
        ("a" * 31, "at most 30"),
        ("admin\u200b", "lowercase letters"),
        ("<script>", "lowercase letters"),
        ("' OR 1=1 --", "lowercase letters"),
        ("ad min", "lowercase letters"),
        ("ad\x00min", "lowercase letters"),
    ],
)
def test_invalid_names_are_refused_before_any_cache_or_database_work(app, client, count_queries, raw, message):
    redis = app.extensions["redis"]
    with count_queries() as counter:
        response = _check(client, raw)
    assert response.status_code == 200 and "is-invalid" in response.text and message in response.text
    assert counter.count == 0
    assert redis.keys("username:*") == []


def test_registering_a_name_updates_its_cache_entry(app, client):
    assert "is-available" in _check(client, "newbie").text
    client.post(
        "/auth/signup", data={"username": "newbie", "email": "n@example.com", "password": "a long unusual passphrase"}
    )
    assert app.extensions["redis"].get("username:newbie") == b"taken"
    assert "is-taken" in _check(client, "newbie").text


def test_without_javascript_the_check_opens_the_signup_page_with_the_answer(app, client):
    response = client.get("/auth/check-username", query_string={"username": "someone"})
    assert response.status_code == 302 and "/auth/signup?username=someone" in response.headers["Location"]
    page = client.get("/auth/signup?username=someone")
    assert 'value="someone"' in page.text and "is-available" in page.text


def test_signup_field_checks_as_the_user_types(client):
    page = client.get("/auth/signup").text
    assert 'hx-get="/auth/check-username"' in page and 'hx-trigger="keyup changed delay:300ms' in page


@pytest.mark.postgres
def test_fifty_concurrent_checks_of_a_fresh_name_cost_one_database_query(app, count_queries):
    barrier = threading.Barrier(50)
    answers = []

    def ask():
        client = app.test_client()
        barrier.wait()
        answers.append(_check(client, "stampede.name").text)

    threads = [threading.Thread(target=ask) for _ in range(50)]
    with count_queries() as counter:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(answers) == 50 and all("is-available" in a for a in answers)
    assert len(_users_queries(counter)) == 1


def test_username_checks_are_limited_to_100_a_minute_per_ip(limited_app):
    client = limited_app.test_client()
    for _ in range(100):
        assert _check(client, "limit.me").status_code == 200
    response = _check(client, "limit.me")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert response.headers["HX-Retarget"] == "#toasts"


def test_a_refused_signup_still_shows_whether_the_username_is_taken(app, client):
    with app.app_context():
        make_user(username="ada")
    response = client.post("/auth/signup", data={"username": "ada", "email": "", "password": ""})
    assert response.status_code == 400 and "is-taken" in response.text and 'id="email-error"' in response.text
