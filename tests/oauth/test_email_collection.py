"""The provider gave no usable email: the page that asks for one."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.social import SocialAccount
from tests.support.oidc import Account, SocialFlow, actions, signed_in_as, text, users
from tests.support.users import make_user

NO_EMAIL = Account("10220000000001", name="Linus Torvalds")


@pytest.fixture
def waiting(app, client, facebook, social):
    """A client whose Facebook sign-in is waiting for an email address."""
    assert social.sign_in("facebook", NO_EMAIL, next="/catalog").headers["Location"] == "/auth/oauth/email"
    return client


def test_a_valid_address_creates_the_account_unverified_and_signs_in(app, waiting):
    response = waiting.post("/auth/oauth/email", data={"email": "  Linus@Example.COM "})

    assert response.status_code == 302 and response.headers["Location"] == "/catalog"
    with app.app_context():
        (user,) = users(db.session)
        assert user.email == "linus@example.com" and not user.is_verified and user.username == "linus_torvalds"
        account = db.session.scalar(sa.select(SocialAccount))
        assert (account.provider, account.subject, account.user_id) == ("facebook", NO_EMAIL.login, user.id)
        assert actions(db.session) == ["signup", "login"]
    assert signed_in_as(waiting) == "linus_torvalds"
    # The pending sign-in is used up.
    assert waiting.get("/auth/oauth/email").status_code == 400


@pytest.mark.parametrize(("value", "message"), [
    ("", "Enter your email address."),
    ("   ", "Enter your email address."),
    ("not-an-email", "Enter a valid email address"),
    ("a" * 250 + "@example.test", "That address is too long."),
    ("admin\u200b@example.test", "Enter a valid email address"),
    ("<script>alert(1)</script>@example.test", "Enter a valid email address"),
    ("' OR 1=1 --", "Enter a valid email address"),
])
def test_a_bad_address_is_explained_next_to_the_field_and_changes_nothing(app, waiting, value, message):
    response = waiting.post("/auth/oauth/email", data={"email": value})

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'id="email-error"' in body and 'aria-invalid="true"' in body and message in text(response)
    assert "<script>alert(1)" not in body
    with app.app_context():
        assert users(db.session) == []


def test_an_address_another_account_uses_is_refused(app, waiting):
    with app.app_context():
        make_user(username="linus", email="linus@example.com")

    response = waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})

    assert response.status_code == 400 and "An account already uses this address" in text(response)
    with app.app_context():
        assert [u.username for u in users(db.session)] == ["linus"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SocialAccount)) == 0


def test_the_page_without_a_pending_sign_in_says_to_start_again(app, client):
    for response in (client.get("/auth/oauth/email"), client.post("/auth/oauth/email", data={"email": "a@b.com"})):
        assert response.status_code == 400 and "start again" in text(response)


def test_the_email_form_needs_its_csrf_token(make_app, oidc_server):
    app = make_app(WTF_CSRF_ENABLED=True)
    oidc_server.configure_facebook(app)
    flow = SocialFlow(app.test_client())
    assert flow.sign_in("facebook", NO_EMAIL).status_code == 302

    forged = flow.client.post("/auth/oauth/email", data={"email": "linus@example.com"})
    assert forged.status_code == 400

    page = flow.client.get("/auth/oauth/email").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    accepted = flow.client.post("/auth/oauth/email", data={"email": "linus@example.com", "csrf_token": token})
    assert accepted.status_code == 302
