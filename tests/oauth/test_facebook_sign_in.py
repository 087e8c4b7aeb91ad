"""Facebook sign-in (OAuth 2 + Graph `me`) against the local Facebook-style server, real HTTP throughout."""

from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from app.extensions import db
from app.models.social import SocialAccount
from tests.support.oidc import Account, actions, signed_in_as, text, users
from tests.support.users import make_user

GRACE = Account("10229876543210", email="grace@example.com", name="Grace Hopper")


def test_first_facebook_sign_in_creates_an_account_from_the_graph_profile(app, client, facebook, social):
    response = social.sign_in("facebook", GRACE, next="/catalog")

    assert response.status_code == 302 and response.headers["Location"] == "/catalog"
    with app.app_context():
        (user,) = users(db.session)
        assert (user.email, user.username, user.first_name, user.last_name) == (
            "grace@example.com",
            "grace_hopper",
            "Grace",
            "Hopper",
        )
        # Graph returns `email` only for a confirmed address.
        assert user.is_verified and user.password_hash is None
        account = db.session.scalar(sa.select(SocialAccount))
        assert (account.provider, account.subject) == ("facebook", GRACE.login)
        assert actions(db.session) == ["user.signup", "auth.login"]
    assert signed_in_as(client) == "grace_hopper"


def test_the_facebook_dialog_is_asked_for_email_with_the_configured_graph_version(app, facebook, social):
    start = urlsplit(social.start("facebook"))
    assert start.path == "/facebook/v25.0/dialog/oauth"
    query = parse_qs(start.query)
    assert query["client_id"] == ["fb-test-app"] and set(query["scope"][0].split()) == {"email", "public_profile"}
    assert query["redirect_uri"] == ["http://localhost/auth/oauth/facebook/callback"] and query["state"]


def test_a_facebook_email_links_to_the_existing_account(app, client, facebook, social):
    with app.app_context():
        grace_id = make_user(username="grace", email="grace@example.com").id

    assert social.sign_in("facebook", GRACE).status_code == 302

    with app.app_context():
        assert [u.id for u in users(db.session)] == [grace_id]
        assert actions(db.session) == ["user.social_linked", "auth.login"]
    assert signed_in_as(client) == "grace"


def test_a_facebook_account_without_email_is_asked_for_one(app, client, facebook, social):
    phone_only = Account("10220000000001", name="Linus Torvalds")

    response = social.sign_in("facebook", phone_only, next="/catalog")

    assert response.status_code == 302 and response.headers["Location"] == "/auth/oauth/email"
    page = client.get("/auth/oauth/email")
    assert page.status_code == 200
    assert "Facebook didn't share an email address" in text(page) and "Linus Torvalds" in text(page)
    with app.app_context():
        assert users(db.session) == []


def test_denying_the_facebook_dialog_is_handled(app, facebook, social):
    response = social.sign_in("facebook", GRACE, deny_on="login-form")

    assert response.status_code == 403
    assert "You cancelled signing in with Facebook" in text(response)
    with app.app_context():
        assert users(db.session) == []
        assert actions(db.session) == ["auth.login_failed"]


def test_a_rejected_facebook_code_exchange_is_a_502(app, facebook, social):
    callback = social.authorize("facebook", GRACE)
    app.config["FACEBOOK_CLIENT_SECRET"] = "wrong-secret"

    response = social.client.get(callback.removeprefix("http://localhost"))

    assert response.status_code == 502
    assert "couldn't confirm your Facebook sign-in" in text(response)
    with app.app_context():
        assert users(db.session) == []
