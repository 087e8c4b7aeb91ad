"""Rate limits per IP (Flask-Limiter on Redis) and per account (our counters), and Redis being down."""

import pytest

from tests.auth.conftest import delivered
from tests.support.users import DEFAULT_PASSWORD, make_user


@pytest.fixture
def ada(limited_app):
    with limited_app.app_context():
        make_user(username="ada", email="ada@example.com")


def _login(client, identifier, password="wrong password here"):
    return client.post("/auth/login", data={"identifier": identifier, "password": password})


def _client_from(app, ip):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _signed_in(client) -> bool:
    return 'action="/auth/logout"' in client.get("/").text


def test_login_posts_are_limited_to_30_a_minute_per_ip_with_headers(limited_app):
    client = limited_app.test_client()
    first = client.post("/auth/login", data={})
    assert first.status_code == 400
    assert first.headers["X-RateLimit-Limit"] == "30" and first.headers["X-RateLimit-Remaining"] == "29"
    assert "X-RateLimit-Reset" in first.headers
    for _ in range(29):
        assert client.post("/auth/login", data={}).status_code == 400
    limited = client.post("/auth/login", data={})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Slow down a little" in limited.text  # the friendly page
    assert client.get("/auth/login").status_code == 200  # reading the form is not limited


def test_failed_logins_are_limited_to_10_a_minute_per_ip(limited_app):
    client = limited_app.test_client()
    for n in range(10):
        assert _login(client, f"stranger{n}").status_code == 401
    assert _login(client, "stranger10").status_code == 429


def test_five_failures_lock_the_account_for_five_minutes_even_with_the_right_password(limited_app, ada):
    client = _client_from(limited_app, "10.0.0.1")
    for _ in range(5):
        assert _login(client, "ada").status_code == 401
    other_ip = _client_from(limited_app, "10.0.0.2")
    response = _login(other_ip, "ada@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 429 and 240 < int(response.headers["Retry-After"]) <= 300
    assert "Too many failed sign-ins for this account" in response.text
    assert not _signed_in(other_ip)


def test_a_successful_login_clears_the_account_counter(limited_app, ada):
    client = limited_app.test_client()
    for _ in range(4):
        _login(client, "ada")
    assert _login(client, "ada", DEFAULT_PASSWORD).status_code == 303
    client.post("/auth/logout")
    for _ in range(4):
        assert _login(client, "ada").status_code == 401
    assert _login(client, "ada", DEFAULT_PASSWORD).status_code == 303


def test_signup_is_limited_to_20_a_minute_per_ip(limited_app):
    client = limited_app.test_client()
    for _ in range(20):
        assert client.post("/auth/signup", data={}).status_code == 400
    assert client.post("/auth/signup", data={}).status_code == 429


@pytest.mark.parametrize(
    "path, ok, per_account, message",
    [
        ("/auth/password-reset", 200, 5, "Too many reset requests"),
        ("/auth/login/code", 303, 3, "Too many code requests"),
    ],
)
def test_requests_for_mail_are_limited_per_account_and_per_ip(limited_app, ada, path, ok, per_account, message):
    client = limited_app.test_client()
    for _ in range(per_account):
        assert client.post(path, data={"email": "ada@example.com"}).status_code == ok
    refused = client.post(path, data={"email": "ADA@example.com"})
    assert refused.status_code == 429 and message in refused.text and int(refused.headers["Retry-After"]) <= 60
    for n in range(20 - per_account - 1):
        assert client.post(path, data={"email": f"x{n}@example.com"}).status_code == ok
    assert client.post(path, data={"email": "y@example.com"}).status_code == 429  # the 21st from this IP


def test_a_reset_link_is_mailed_for_each_allowed_request(limited_app, ada):
    client = limited_app.test_client()
    for _ in range(6):
        client.post("/auth/password-reset", data={"email": "ada@example.com"})
    assert len(delivered(limited_app, "password_reset")) == 5


def test_a_limit_hit_by_htmx_comes_back_as_a_toast(limited_app):
    client = limited_app.test_client()
    for _ in range(20):
        client.post("/auth/signup", data={})
    response = client.post("/auth/signup", data={}, headers={"HX-Request": "true"})
    assert response.status_code == 429 and response.headers["HX-Retarget"] == "#toasts"
    assert "toast" in response.text and "Retry-After" in response.headers


def test_with_redis_down_pages_work_and_ip_limits_hold_in_memory(make_app):
    app = make_app(RATELIMIT_ENABLED=True, REDIS_URL="redis://127.0.0.1:1/0", FAKEREDIS_SERVER=None)
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    client = app.test_client()
    assert client.get("/auth/login").status_code == 200
    assert client.get("/auth/check-username?username=someone", headers={"HX-Request": "true"}).status_code == 200
    assert _login(client, "ada", DEFAULT_PASSWORD).status_code == 303
    client.post("/auth/logout")
    for n in range(10):
        assert _login(client, f"stranger{n}").status_code == 401
    assert _login(client, "stranger10").status_code == 429
