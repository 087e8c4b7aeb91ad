"""Names that could pass for the site or its staff are reserved:
the live check, signup and social sign-up refuse them."""

import pytest
import sqlalchemy as sa

from app.auth.usernames import candidate_names, is_reserved
from app.extensions import db
from app.models.user import User
from tests.support.oidc import Account, SocialFlow, users
from tests.support.users import make_user

HX = {"HX-Request": "true"}


def _check(client, name):
    return client.get("/auth/check-username", query_string={"username": name}, headers=HX)


def _usernames(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(User.username)))


@pytest.mark.parametrize(
    "name",
    [
        "admin",
        "Root",
        "support",
        "billing",
        "security",
        "postmaster",
        "abuse",
        "multiproduct",
        "ad.min",
        "admin_2",
        "support_team",
        "billing.official",
        "the_admin",
        "multi_product",
    ],
)
def test_the_live_check_says_a_reserved_name_is_reserved_and_suggests_nothing_reserved(client, name):
    response = _check(client, name)
    assert response.status_code == 200 and "is-reserved" in response.text
    assert "is reserved: it could pass for MultiProduct or its staff" in response.text
    assert 'class="chip"' not in response.text  # every variation we would offer ("admin_42") is reserved too


@pytest.mark.parametrize("name", ["adminton", "joe_admin", "api_fan", "helpful", "rooted", "mailbox", "ada_dev"])
def test_ordinary_names_that_merely_contain_a_reserved_word_are_available(client, name):
    assert "is-available" in _check(client, name).text


def test_suggestions_for_a_taken_name_leave_out_the_reserved_variations(app, client):
    with app.app_context():
        make_user(username="real")
    response = _check(client, "real")
    assert "is-taken" in response.text
    assert "real_official" not in candidate_names("real")  # real + official would read as the official account
    offered = [c for c in candidate_names("real") if f">{c}<" in response.text]
    assert len(offered) == 5 and not any(is_reserved(c) for c in offered)


def test_the_site_name_is_reserved_whatever_it_is(make_app):
    app = make_app(SITE_NAME="Acme Cloud")
    client = app.test_client()
    for name in ("acme_cloud", "acmecloud", "acme.cloud_hq"):
        assert "is-reserved" in _check(client, name).text, name
    assert "is-available" in _check(client, "multiproduct").text


def test_signup_with_a_reserved_name_is_refused_on_the_field_and_creates_nothing(app, client):
    response = client.post(
        "/auth/signup", data={"username": "Admin", "email": "eve@example.com", "password": "analytical engine 1843"}
    )
    assert response.status_code == 400
    assert "“admin” is reserved. Choose another username." in response.text
    assert _usernames(app) == set()


def test_an_operator_may_still_create_an_admin_named_admin(app, runner):
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "ops@example.com",
            "--username",
            "admin",
            "--password",
            "analytical engine 1843",
        ]
    )
    assert result.exit_code == 0, result.output
    assert _usernames(app) == {"admin"}


def test_social_sign_up_never_makes_a_reserved_username(app, google):
    for n, (name, email) in enumerate([("Support Team", "support@example.com"), ("Admin", "admin2@example.com")]):
        account = Account(f"google-reserved-{n}", email=email, email_verified=True, name=name)
        assert SocialFlow(app.test_client()).sign_in("google", account).status_code == 302
    with app.app_context():
        names = sorted(u.username for u in users(db.session))
    assert names == ["member", "member2"]  # neither the name nor the address makes an unreserved one
