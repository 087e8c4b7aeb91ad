"""Lockout abuse: strangers' wrong passwords lock strangers out, not the owner's browser (OWASP device cookies)."""

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.auth.conftest import last_code
from tests.support.users import DEFAULT_PASSWORD, make_user

LOCKED = "Too many failed sign-ins for this account"


@pytest.fixture
def proxied_app(make_app):
    """Limits on, behind one proxy (client addresses from X-Forwarded-For), as in production."""
    app = make_app(RATELIMIT_ENABLED=True, PROXY_COUNT=1)
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
        make_user(username="mallory", email="mallory@example.com")
    return app


class Browser:
    def __init__(self, app, address: str):
        self.client = app.test_client()
        self.headers = {"X-Forwarded-For": address}

    def login(self, identifier: str, password: str = "wrong password here"):
        return self.client.post(
            "/auth/login", data={"identifier": identifier, "password": password}, headers=self.headers
        )

    def signed_in(self) -> bool:
        return 'action="/auth/logout"' in self.client.get("/", headers=self.headers).text

    def sign_out(self):
        self.client.post("/auth/logout", headers=self.headers)


def _owner_browser(app, identifier="ada") -> Browser:
    """A browser that signed in to the account before, and signed out."""
    browser = Browser(app, "198.51.100.7")
    assert browser.login(identifier, DEFAULT_PASSWORD).status_code == 303
    browser.sign_out()
    return browser


def _strangers_lock_out_ada(app) -> None:
    for n in range(5):
        assert Browser(app, f"203.0.113.{n}").login("ada").status_code == 401


def test_five_wrong_passwords_from_five_addresses_lock_strangers_out_but_not_the_owners_browser(proxied_app):
    owner = _owner_browser(proxied_app)
    _strangers_lock_out_ada(proxied_app)
    stranger = Browser(proxied_app, "203.0.113.99")
    refused = stranger.login("ada@example.com", DEFAULT_PASSWORD)
    assert refused.status_code == 429 and LOCKED in refused.text and not stranger.signed_in()
    assert owner.login("ada", DEFAULT_PASSWORD).status_code == 303 and owner.signed_in()


def test_wrong_passwords_from_the_owners_browser_lock_that_browser_only(proxied_app):
    owner = _owner_browser(proxied_app)
    for _ in range(5):
        assert owner.login("ada").status_code == 401
    refused = owner.login("ada", DEFAULT_PASSWORD)
    assert refused.status_code == 429 and "Too many failed sign-ins from this browser" in refused.text
    assert 240 < int(refused.headers["Retry-After"]) <= 300
    assert Browser(proxied_app, "203.0.113.50").login("ada", DEFAULT_PASSWORD).status_code == 303


def test_a_device_cookie_for_another_account_does_not_help(proxied_app):
    mallory = _owner_browser(proxied_app, "mallory")  # she signs in to her own account: her cookie names her
    _strangers_lock_out_ada(proxied_app)
    refused = mallory.login("ada", DEFAULT_PASSWORD)
    assert refused.status_code == 429 and LOCKED in refused.text and not mallory.signed_in()


def test_a_cookie_not_signed_by_us_does_not_help(proxied_app):
    owner = _owner_browser(proxied_app)
    issued = owner.client.get_cookie("device", path="/auth").value
    user_id = URLSafeTimedSerializer("test-secret-key", salt="device-cookie").loads(issued)[0][0]
    forged = URLSafeTimedSerializer("another-key", salt="device-cookie").dumps([[user_id, "guessed-nonce"]])
    _strangers_lock_out_ada(proxied_app)
    stranger = Browser(proxied_app, "203.0.113.77")
    stranger.client.set_cookie("device", forged, path="/auth")
    assert stranger.login("ada", DEFAULT_PASSWORD).status_code == 429


def test_the_device_cookie_is_http_only_scoped_to_sign_in_pages_and_lasts_a_year(proxied_app):
    response = Browser(proxied_app, "198.51.100.8").login("ada", DEFAULT_PASSWORD)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("device=")]
    assert "HttpOnly" in cookie and "Path=/auth" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age=31536000" in cookie


def test_signing_in_by_emailed_code_also_makes_the_browser_trusted(proxied_app):
    browser = Browser(proxied_app, "198.51.100.9")
    browser.client.post("/auth/login/code", data={"email": "ada@example.com"}, headers=browser.headers)
    code = last_code(proxied_app, "login_code")
    assert (
        browser.client.post("/auth/login/code/enter", data={"code": code}, headers=browser.headers).status_code == 303
    )
    browser.sign_out()
    _strangers_lock_out_ada(proxied_app)
    assert browser.login("ada", DEFAULT_PASSWORD).status_code == 303
