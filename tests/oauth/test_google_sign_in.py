"""Google sign-in (OpenID Connect) against the real local provider: the whole redirect dance."""

import json
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.social import SocialAccount
from app.models.user import User, UserSession
from tests.auth.conftest import queued_emails
from tests.support.mfa import totp_code
from tests.support.oidc import Account, SocialFlow, actions, signed_in_as, text, users, without_tokens
from tests.support.users import make_user, sign_in

ADA = Account("google-ada-1001", email="ada@example.com", email_verified=True, name="Ada Lovelace")


def test_first_sign_in_creates_a_verified_customer_and_lands_signed_in(app, client, google, social):
    response = social.sign_in("google", ADA)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    with app.app_context():
        (user,) = users(db.session)
        assert (user.email, user.username, user.first_name, user.last_name) == (
            "ada@example.com",
            "ada_lovelace",
            "Ada",
            "Lovelace",
        )
        assert user.is_verified and user.password_hash is None and user.role.name == "customer"
        account = db.session.scalar(sa.select(SocialAccount))
        assert (account.provider, account.subject, account.user_id) == ("google", ADA.login, user.id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1
        assert actions(db.session) == ["user.signup", "auth.login"]
        login = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.login"))
        assert login.after == {"method": "google", "remember": False, "device": "Browser on unknown OS"}
        assert login.actor_id == user.id
    assert [m["to"] for m in queued_emails(app, "welcome")] == ["ada@example.com"]
    assert "Signed in as ada_lovelace." in text(client.get("/"))  # the flash, once
    assert signed_in_as(client) == "ada_lovelace"


def test_the_authorization_request_uses_state_nonce_and_pkce_s256(app, google, social):
    query = parse_qs(urlsplit(social.start("google")).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20 and len(query["code_challenge"][0]) == 43
    # The nonce and the PKCE verifier wait on the server, not in the session cookie.
    cookie = social.client.get_cookie("session").value
    assert query["nonce"][0] not in cookie


@pytest.mark.parametrize(
    ("asked", "landed"),
    [
        ("/catalog?cycle=yearly", "/catalog?cycle=yearly"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_is_kept_only_when_it_is_a_path_on_this_site(app, google, social, asked, landed):
    response = social.sign_in("google", ADA, next=asked)
    assert response.status_code == 302 and response.headers["Location"] == landed


def test_the_same_subject_signs_in_to_the_same_account_even_with_a_new_email(app, client, google, social):
    first = social.sign_in("google", ADA)
    assert first.status_code == 302
    again = Account(ADA.login, email="ada.lovelace@example.com", email_verified=True, name="Ada L")
    second = SocialFlow(app.test_client()).sign_in("google", again)

    assert second.status_code == 302
    with app.app_context():
        (user,) = users(db.session)
        assert user.email == "ada@example.com"  # the account's own email is the user's to change
        assert db.session.scalar(sa.select(SocialAccount.email)) == "ada.lovelace@example.com"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 2
        assert actions(db.session) == ["user.signup", "auth.login", "auth.login"]


def test_a_verified_provider_email_links_to_the_existing_account(app, client, google, social):
    with app.app_context():
        ada = make_user(username="ada", email="ada@example.com")
        ada_id, password_hash = ada.id, ada.password_hash

    response = social.sign_in("google", ADA)

    assert response.status_code == 302
    with app.app_context():
        (user,) = users(db.session)
        assert user.id == ada_id and user.password_hash == password_hash  # a verified account keeps its password
        assert db.session.scalar(sa.select(SocialAccount.user_id)) == ada_id
        link = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.social_linked"))
        assert link.actor_id == ada_id and link.after["provider"] == "google" and link.ip
        assert actions(db.session) == ["user.social_linked", "auth.login"]
    assert signed_in_as(client) == "ada"


def test_an_unverified_provider_email_links_nothing_and_asks_for_proof_either_way(app, google):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    pages = []
    for n, address in enumerate(["ada@example.com", "ida@example.com"]):  # the first has an account
        flow = SocialFlow(app.test_client())
        unproven = Account(f"google-unverified-{n}", email=address, email_verified=False, name="Not Ada")
        response = flow.sign_in("google", unproven)
        assert response.status_code == 302 and response.headers["Location"] == "/auth/oauth/email"
        page = flow.client.get("/auth/oauth/email")
        assert page.status_code == 200 and signed_in_as(flow.client) is None
        pages.append(without_tokens(page).replace(address, "ADDRESS"))

    assert pages[0] == pages[1] and "Google couldn't confirm your email address" in pages[0]
    with app.app_context():
        assert [u.username for u in users(db.session)] == ["ada"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SocialAccount)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_linking_an_account_that_never_proved_its_email_drops_its_password_and_sessions(app, client, google, social):
    # Someone registered ada@example.com first (never verified). The real Ada arrives through Google.
    with app.app_context():
        squatter = make_user(username="squatter", email="ada@example.com", verified=False)
        squatter_id, squatter_session_id = squatter.id, sign_in(app.test_client(), squatter).id

    assert social.sign_in("google", ADA).status_code == 302

    with app.app_context():
        user = db.session.get(User, squatter_id)
        assert user.is_verified and user.password_hash is None
        assert db.session.get(UserSession, squatter_session_id).revoked_at is not None
        link = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.social_linked"))
        assert link.after == {"provider": "google", "email_verified_now": True, "password_cleared": True}


def test_usernames_are_derived_from_the_name_and_made_unique(app, google, social):
    with app.app_context():
        make_user(username="ada_lovelace", email="other@example.com")
        make_user(username="ada_lovelace_x", email="another@example.com")  # shares the prefix, not the pattern
    app.extensions["redis"].set("username:ada_lovelace", b"available")  # a stale cache entry must not decide
    assert social.sign_in("google", ADA).status_code == 302
    second = Account("google-2", email="zoe@example.com", email_verified=True, name="Zoë Ångström")
    assert SocialFlow(app.test_client()).sign_in("google", second).status_code == 302
    third = Account("google-3", email="x9@example.com", email_verified=True, name="李")
    assert SocialFlow(app.test_client()).sign_in("google", third).status_code == 302
    with app.app_context():
        names = {u.email: u.username for u in users(db.session)}
    assert names["ada@example.com"] == "ada_lovelace2"
    assert names["zoe@example.com"] == "zoe_angstrom"
    assert names["x9@example.com"] == "member"  # neither the name nor "x9" makes a valid username
    # The live username check knows at once that the new names are taken.
    assert {
        app.extensions["redis"].get(f"username:{name}") for name in ("ada_lovelace2", "zoe_angstrom", "member")
    } == {b"taken"}


def test_a_deactivated_account_is_refused_with_a_clear_message(app, client, google, social):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", is_active=False)

    response = social.sign_in("google", ADA)

    assert response.status_code == 403
    assert "This account has been deactivated" in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SocialAccount)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
        failure = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
        assert failure.after == {"method": "google", "reason": "inactive"}


@pytest.mark.parametrize("deny_on", ["consent-form", "login-form"])
def test_denied_consent_shows_a_friendly_page_and_changes_nothing(app, google, social, deny_on):
    response = social.sign_in("google", ADA, deny_on=deny_on)

    assert response.status_code == 403
    body = text(response)
    assert "You cancelled signing in with Google" in body and "Continue with Google" in body
    with app.app_context():
        assert users(db.session) == []
        failure = db.session.scalar(sa.select(AuditEvent))
        assert failure.action == "auth.login_failed" and failure.after == {
            "method": "google",
            "reason": "access_denied",
        }


def test_a_callback_with_a_wrong_state_is_refused_with_400(app, google, social):
    callback = urlsplit(social.authorize("google", ADA))
    query = {k: v[0] for k, v in parse_qs(callback.query).items()}
    query["state"] = "forged-" + query["state"]

    response = social.client.get(f"{callback.path}?{urlencode(query)}")

    assert response.status_code == 400
    assert "expired or was started in another browser" in text(response)
    with app.app_context():
        assert users(db.session) == []
        assert db.session.scalar(sa.select(AuditEvent)).after == {"method": "google", "reason": "bad_state"}


def test_a_callback_from_another_browser_or_replayed_is_refused(app, google, social):
    callback = urlsplit(social.authorize("google", ADA))
    path = f"{callback.path}?{callback.query}"

    assert app.test_client().get(path).status_code == 400  # no state in that browser's session
    assert social.client.get(path).status_code == 302
    assert social.client.get(path).status_code == 400  # the state was used up


def _tamper_state(app, callback_url: str, **changes) -> None:
    state = parse_qs(urlsplit(callback_url).query)["state"][0]
    redis = app.extensions["redis"]
    key = f"oauth:_state_google_{state}"
    saved = json.loads(redis.get(key))
    saved["data"].update(changes)
    redis.set(key, json.dumps(saved))


def test_an_id_token_with_another_nonce_is_rejected(app, google, social):
    callback = social.authorize("google", ADA)
    _tamper_state(app, callback, nonce="not-the-nonce-we-sent")

    response = social.client.get(callback.removeprefix("http://localhost"))

    assert response.status_code == 502
    assert "couldn't confirm your Google sign-in" in text(response)
    with app.app_context():
        assert users(db.session) == []


def test_the_code_is_useless_without_the_pkce_verifier(app, google, social):
    callback = social.authorize("google", ADA)
    _tamper_state(app, callback, code_verifier="x" * 64)

    response = social.client.get(callback.removeprefix("http://localhost"))

    assert response.status_code == 502
    with app.app_context():
        assert users(db.session) == []
        assert db.session.scalar(sa.select(AuditEvent)).after["reason"] == "OAuthError"


def test_a_failed_token_exchange_is_a_502_not_a_500(app, google, social):
    callback = social.authorize("google", ADA)
    app.config["GOOGLE_CLIENT_SECRET"] = "not-the-secret"

    response = social.client.get(callback.removeprefix("http://localhost"))

    assert response.status_code == 502
    with app.app_context():
        assert users(db.session) == []


def test_an_unreachable_provider_is_a_502_page(app, client):
    from tests.support.mail import free_port

    app.config.update(
        GOOGLE_CLIENT_ID="id",
        GOOGLE_CLIENT_SECRET="secret",
        GOOGLE_DISCOVERY_URL=f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration",
    )
    response = client.get("/auth/oauth/google")
    assert response.status_code == 502
    assert "couldn't reach Google" in text(response)


@pytest.mark.parametrize(
    "path",
    [
        "/auth/oauth/google",
        "/auth/oauth/google/callback?code=x&state=y",
        "/auth/oauth/facebook",
        "/auth/oauth/twitter",
        "/auth/oauth/twitter/callback",
    ],
)
def test_an_unknown_or_unconfigured_provider_is_404(app, client, path):
    app.config.update(GOOGLE_CLIENT_ID="only-an-id")  # no secret: not configured
    assert client.get(path).status_code == 404


@pytest.mark.postgres
def test_two_callbacks_for_one_new_identity_at_once_make_one_account(app, google):
    # Two browsers finish the same person's first sign-in at the same moment.
    flows = [SocialFlow(app.test_client()) for _ in range(2)]
    callbacks = [urlsplit(flow.authorize("google", ADA)) for flow in flows]
    barrier = threading.Barrier(len(flows))
    statuses = []

    def finish(flow, callback):
        barrier.wait()
        statuses.append(flow.client.get(f"{callback.path}?{callback.query}").status_code)

    threads = [threading.Thread(target=finish, args=pair) for pair in zip(flows, callbacks, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [302, 302]
    with app.app_context():
        (user,) = users(db.session)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SocialAccount)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 2
        assert sorted(actions(db.session)) == ["auth.login", "auth.login", "user.signup"]
    assert [signed_in_as(flow.client) for flow in flows] == ["ada_lovelace", "ada_lovelace"]


def test_an_account_with_a_second_factor_is_asked_for_it_after_google(app, client, google, social):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", totp=True)

    response = social.sign_in("google", ADA, next="/account/sessions")

    assert response.status_code == 302 and response.headers["Location"] == "/auth/mfa"
    assert signed_in_as(client) is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
    done = client.post("/auth/mfa", data={"code": totp_code()})
    assert done.headers["Location"] == "/account/sessions" and signed_in_as(client) == "ada"
    with app.app_context():
        login = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.login"))
        assert login.after["method"] == "google"
