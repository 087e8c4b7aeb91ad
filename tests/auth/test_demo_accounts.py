"""`flask seed-demo` (run by `make run`) gives a newcomer a customer and an admin to sign in as,
in development only."""

import re

import sqlalchemy as sa

from app.extensions import db
from app.models.user import User
from tests.support.mfa import pass_second_step_over_http

DEMO_LINE = re.compile(r"^demo (customer|admin): (\S+), password (\S+) \((added|already there)\)$", re.M)


def _seed(app) -> str:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def _signs_in(app, email: str, password: str, totp_key: str | None = None):
    client = app.test_client()
    response = client.post("/auth/login", data={"identifier": email, "password": password})
    assert response.status_code in (302, 303), response.text
    if totp_key:  # staff: the second step, with the printed key
        assert response.headers["Location"] == "/auth/mfa"
        pass_second_step_over_http(client, totp_key)
    return client


def test_in_development_seed_demo_prints_a_customer_and_an_admin_who_can_sign_in(make_app):
    dev = make_app(APP_ENV="development", PORT=8123)
    output = _seed(dev)
    accounts = {role: (email, password) for role, email, password, state in DEMO_LINE.findall(output)}
    assert set(accounts) == {"customer", "admin"} and output.count("(added)") == 2
    assert "sign in at http://127.0.0.1:8123/auth/login" in output

    customer = _signs_in(dev, *accounts["customer"])
    assert customer.get("/admin/").status_code == 404  # customers don't see /admin at all
    assert "Log out" in customer.get("/products/").text
    key = re.search(r"^demo admin authenticator key: ([A-Z2-7]{32}) ", output, re.M).group(1)
    assert _signs_in(dev, *accounts["admin"], totp_key=key).get("/admin/").status_code == 200


def test_a_second_seed_demo_keeps_the_demo_accounts_and_still_says_how_to_sign_in(make_app):
    dev = make_app(APP_ENV="development")
    _seed(dev)
    again = _seed(dev)
    assert [state for *_, state in DEMO_LINE.findall(again)] == ["already there", "already there"]
    with dev.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_outside_development_seed_demo_creates_no_account(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "demo users: none (development only)" in result.output
    assert not DEMO_LINE.search(result.output)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
