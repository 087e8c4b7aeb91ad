"""Bearer tokens over HTTP: sign-in, refresh rotation with reuse detection, revoke, the second factor,
personal tokens' scopes, and API sign-ins on the web sessions page."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth import tokens
from app.extensions import db
from app.models.api_token import ApiToken
from app.models.audit import AuditEvent
from app.models.user import UserSession
from tests.api.conftest import api_login, bearer, problem_of
from tests.support.mfa import totp_code
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in


def test_a_password_sign_in_gives_a_15_minute_access_token_that_reads_me(app, client):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")

    signed = api_login(client, "ada", client_name="Ada's phone")

    assert signed["status"] == "signed_in" and signed["token_type"] == "Bearer"
    assert signed["expires_in"] == 900 and set(signed["scopes"]) == {"read", "billing"}
    me = client.get("/api/v1/me", headers=bearer(signed["access_token"]))
    assert me.status_code == 200 and me.get_json()["username"] == "ada"
    with app.app_context():
        stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert signed["access_token"] not in stored and tokens.digest(signed["access_token"]) in stored


def test_a_wrong_password_is_a_401_problem_with_the_pages_generic_message(app, client):
    with app.app_context():
        make_user(username="ada")

    response = client.post("/api/v1/auth/login", json={"identifier": "ada", "password": "not it at all"})
    unknown = client.post("/api/v1/auth/login", json={"identifier": "nobody", "password": "not it at all"})

    body = problem_of(response, 401)
    assert body["type"] == "urn:multiproduct:problem:authentication-failed"
    assert (
        body["detail"]
        == problem_of(unknown, 401)["detail"]
        == "That username, email or phone and password don't match an account."
    )


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_whole_sign_in(app, client):
    with app.app_context():
        make_user(username="ada")
    first = api_login(client, "ada")

    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).get_json()
    assert second["status"] == "signed_in" and second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(first["access_token"])).status_code == 401  # replaced
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 200

    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})

    problem_of(replay, 401)
    assert client.get("/api/v1/me", headers=bearer(second["access_token"])).status_code == 401
    third = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    problem_of(third, 401)  # the family is gone: the thief's copy and the owner's alike
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "auth.refresh_reused"))
        assert db.session.scalar(sa.select(UserSession.revoked_at)) is not None


def test_revoke_ends_the_sign_in_and_an_unknown_token_is_no_error(app, client):
    with app.app_context():
        make_user(username="ada")
    signed = api_login(client, "ada")

    assert client.post("/api/v1/auth/revoke", json={"token": signed["refresh_token"]}).status_code == 204
    assert client.post("/api/v1/auth/revoke", json={"token": "mpr_never-issued"}).status_code == 204

    problem_of(client.get("/api/v1/me", headers=bearer(signed["access_token"])), 401)
    problem_of(client.post("/api/v1/auth/refresh", json={"refresh_token": signed["refresh_token"]}), 401)


def test_an_account_with_a_second_factor_gets_mfa_required_then_signs_in_with_the_authenticator(app, client):
    with app.app_context():
        make_user(username="ada", totp=True)

    first = api_login(client, "ada")
    assert first["status"] == "mfa_required" and first["mfa_required"] is True
    assert "access_token" not in first
    wrong = client.post("/api/v1/auth/mfa", json={"challenge_token": first["challenge_token"], "code": "000000"})
    problem_of(wrong, 401)

    done = client.post("/api/v1/auth/mfa", json={"challenge_token": first["challenge_token"], "code": totp_code()})

    assert done.status_code == 200, done.get_data(as_text=True)
    assert client.get("/api/v1/me", headers=bearer(done.get_json()["access_token"])).status_code == 200
    again = client.post("/api/v1/auth/mfa", json={"challenge_token": first["challenge_token"], "code": totp_code()})
    assert problem_of(again, 422)["errors"] == {"challenge_token": tokens.BAD_CHALLENGE}  # used once


def test_a_personal_token_works_within_its_scopes_only(app, client):
    with app.app_context():
        ada = make_user(username="ada")
        _, reader = tokens.create_personal_token(ada, name="backup script", scopes=["read"])
        _, biller = tokens.create_personal_token(ada, name="invoices", scopes=["billing"])

    assert client.get("/api/v1/me", headers=bearer(reader)).status_code == 200
    refused = client.get("/api/v1/me", headers=bearer(biller))

    body = problem_of(refused, 403)
    assert body["type"] == "urn:multiproduct:problem:insufficient-scope"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_a_customer_cannot_make_an_admin_scoped_token(app):
    with app.app_context():
        ada = make_user(username="ada")
        try:
            tokens.create_personal_token(ada, name="x", scopes=["admin"])
        except Exception as exc:  # noqa: BLE001 — the ValidationError's field is what matters
            assert exc.errors == {"scopes": "Only staff accounts can make tokens with the admin scope."}
        else:
            raise AssertionError("an admin-scoped token was made for a customer")


def test_an_api_sign_in_is_listed_on_the_sessions_page_and_ending_it_there_revokes_its_tokens(app, client):
    with app.app_context():
        ada = make_user(username="ada")
    signed = api_login(client, "ada", client_name="Acme iOS app")
    browser = app.test_client()
    with app.app_context():
        sign_in(browser, ada)

    page = browser.get("/account/sessions")
    assert "Acme iOS app" in page.get_data(as_text=True)
    ended = browser.post(f"/account/sessions/{signed['session_id']}/end")

    assert ended.status_code in (200, 303)
    problem_of(client.get("/api/v1/me", headers=bearer(signed["access_token"])), 401)
    problem_of(client.post("/api/v1/auth/refresh", json={"refresh_token": signed["refresh_token"]}), 401)


def test_the_session_cookie_is_never_accepted_by_the_api(app, client):
    with app.app_context():
        ada = make_user(username="ada")
        sign_in(client, ada)
    assert client.get("/account/sessions").status_code == 200  # the cookie signs the pages in

    response = client.get("/api/v1/me")

    problem_of(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_signing_in_by_emailed_code_sends_one_then_signs_in_with_it(app, client):
    from tests.auth.conftest import last_code

    with app.app_context():
        make_user(username="ada", email="ada@example.com")

    asked = client.post("/api/v1/auth/login", json={"email": "ada@example.com"})
    stranger = client.post("/api/v1/auth/login", json={"email": "nobody@example.com"})
    assert asked.get_json() == stranger.get_json()  # the same answer either way
    assert asked.get_json()["status"] == "code_sent"
    code = last_code(app, "login_code")

    signed = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "code": code})

    assert signed.status_code == 200 and signed.get_json()["status"] == "signed_in"


def test_a_recovery_code_completes_the_second_step_once(app, client):
    from app.auth import mfa

    with app.app_context():
        ada = make_user(username="ada", totp=True)
        [code, *_] = mfa.regenerate_recovery_codes(ada)
    first = api_login(client, "ada")

    done = client.post("/api/v1/auth/mfa", json={"challenge_token": first["challenge_token"], "code": code})
    second = api_login(client, "ada")
    reused = client.post("/api/v1/auth/mfa", json={"challenge_token": second["challenge_token"], "code": code})

    assert done.status_code == 200
    problem_of(reused, 401)


def test_five_wrong_passwords_lock_the_account_like_the_page_does(make_app):
    limited = make_app(RATELIMIT_ENABLED=True)
    with limited.app_context():
        make_user(username="ada")
    client = limited.test_client()

    answers = [
        client.post("/api/v1/auth/login", json={"identifier": "ada", "password": "wrong password"}) for _ in range(6)
    ]

    assert [a.status_code for a in answers[:5]] == [401] * 5
    locked = problem_of(answers[5], 429)
    assert "Too many failed sign-ins for this account" in locked["detail"] and answers[5].headers["Retry-After"]


def test_a_password_reset_over_the_api_ends_every_sign_in(app, client):
    from tests.auth.conftest import reset_link

    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    signed = api_login(client, "ada")

    assert client.post("/api/v1/auth/password-reset", json={"email": "ada@example.com"}).status_code == 202
    token = reset_link(app).rsplit("/", 1)[-1]
    bad = client.post("/api/v1/auth/password-reset/confirm", json={"token": "forged", "password": "x" * 20})
    done = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "a brand new passphrase"}
    )

    assert problem_of(bad, 422)["errors"]["token"].startswith("That reset link is invalid")
    assert done.status_code == 200
    problem_of(client.get("/api/v1/me", headers=bearer(signed["access_token"])), 401)
    assert api_login(client, "ada", "a brand new passphrase")["status"] == "signed_in"


def test_without_a_client_name_the_sessions_page_names_the_device_from_the_user_agent(app, client):
    with app.app_context():
        make_user(username="ada")
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

    signed = client.post(
        "/api/v1/auth/login", json={"identifier": "ada", "password": DEFAULT_PASSWORD}, headers={"User-Agent": firefox}
    ).get_json()

    with app.app_context():
        record = db.session.get(UserSession, signed["session_id"])
        assert record.device == "Firefox on Linux" and record.remember is True
