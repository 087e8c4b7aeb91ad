"""One spelling per address (NFC, lower case, IDNA domain) wherever it is typed;
what SMTP can't deliver is refused on the field."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.user import User
from tests.auth.conftest import delivered, queued_emails
from tests.support.oidc import Account, SocialFlow, text
from tests.support.users import DEFAULT_PASSWORD, make_user

PASSWORD = "analytical engine 1843"
LOOKALIKE = "\u0430da@example.com"  # a Cyrillic "а": looks like ada@example.com
UNICODE_DOMAIN = "Ada@Exämple.COM"
STORED = "ada@xn--exmple-cua.com"
UNDELIVERABLE = "We can&#39;t deliver to this address"


def _signup(client, email, username="ada_l"):
    return client.post("/auth/signup", data={"username": username, "email": email, "password": PASSWORD})


def _emails(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(User.email)))


def test_a_look_alike_address_is_refused_at_signup_with_the_reason_on_the_field(app, client):
    response = _signup(client, LOOKALIKE)
    assert response.status_code == 400
    assert UNDELIVERABLE in response.text and "“\u0430”" in response.text and 'id="email-error"' in response.text
    assert _emails(app) == [] and queued_emails(app) == []


def test_an_international_domain_is_stored_and_mailed_in_its_ascii_form(app, client, smtp_sink, run_jobs):
    assert _signup(client, UNICODE_DOMAIN).status_code == 303
    assert _emails(app) == [STORED]
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert STORED in str(message["To"])  # delivered by plain SMTP, not left as a failed job


@pytest.mark.parametrize("typed", [UNICODE_DOMAIN, "ADA@exa\u0308mple.com", STORED.upper(), "ada@ＥＸÄＭＰＬＥ.com"])
def test_every_spelling_of_the_address_signs_in_to_the_same_account(app, client, typed):
    with app.app_context():
        make_user(username="ada", email=STORED)
    response = client.post("/auth/login", data={"identifier": typed, "password": DEFAULT_PASSWORD})
    assert response.status_code == 303, typed


def test_signing_up_again_with_another_spelling_finds_the_same_account(app, client):
    assert _signup(client, UNICODE_DOMAIN).status_code == 303
    again = app.test_client()
    assert _signup(again, "ada@exa\u0308mple.com", username="someone_else").status_code == 303  # same page either way
    assert _emails(app) == [STORED]


@pytest.mark.parametrize("path, ok", [("/auth/password-reset", 200), ("/auth/login/code", 303)])
def test_mail_requests_normalize_the_address_and_refuse_an_undeliverable_one(app, client, path, ok):
    with app.app_context():
        make_user(username="ada", email=STORED)
    assert client.post(path, data={"email": UNICODE_DOMAIN}).status_code == ok
    assert [m.to for m in delivered(app)] == [STORED]
    refused = client.post(path, data={"email": LOOKALIKE})
    assert refused.status_code == 400 and UNDELIVERABLE in refused.text
    assert len(delivered(app)) == 1


def test_create_admin_refuses_an_undeliverable_address(app, runner):
    result = runner.invoke(args=["create-admin", "--email", LOOKALIKE, "--username", "ops", "--password", PASSWORD])
    assert result.exit_code != 0 and "email: We can't deliver to this address" in result.output
    assert _emails(app) == []


def test_a_provider_address_is_normalized_like_a_typed_one(app, google):
    account = Account("google-idn-1", email=UNICODE_DOMAIN, email_verified=True, name="Ada Lovelace")
    assert SocialFlow(app.test_client()).sign_in("google", account).status_code == 302
    assert _emails(app) == [STORED]


def test_an_undeliverable_provider_address_asks_for_another_one(app, google):
    flow = SocialFlow(app.test_client())
    account = Account("google-idn-2", email=LOOKALIKE, email_verified=True, name="Ada Lovelace")
    response = flow.sign_in("google", account)
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/oauth/email")
    page = text(flow.client.get("/auth/oauth/email"))
    assert "Google shared an email address our mail server can't deliver to" in page
    assert _emails(app) == []
