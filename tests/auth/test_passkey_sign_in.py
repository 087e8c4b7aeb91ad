"""Signing in with a passkey alone (POST /auth/passkey): both factors at once, refused for an unknown
or foreign credential, a replayed challenge, another origin and a sign count that went backwards."""

import sqlalchemy as sa

from app.auth import stepup
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.passkey import WebAuthnCredential
from app.models.user import User
from tests.support.authenticator import LOGIN, LOGIN_OPTIONS, SoftAuthenticator, add_passkey
from tests.support.users import make_user, sign_in


def _with_passkey(app, client, username="ada") -> tuple[SoftAuthenticator, User]:
    """`username`'s account with a registered passkey; `client` is signed out again afterwards."""
    with app.app_context():
        owner = make_user(username=username, email=f"{username}@example.com", first_name=username.title())
        sign_in(client, owner)
        db.session.refresh(owner)
        db.session.expunge(owner)
    authenticator = add_passkey(client)
    client.post("/auth/logout")
    return authenticator, owner


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
    return list(rows)


def _signed_in_as(client) -> str | None:
    page = client.get("/account/profile")
    return page.text if page.status_code == 200 else None


def test_a_passkey_alone_signs_in_counts_as_recent_and_is_audited_as_a_passkey_sign_in(app, client):
    authenticator, owner = _with_passkey(app, client)
    assert _signed_in_as(client) is None
    page = client.get("/auth/login")
    assert 'autocomplete="username webauthn"' in page.text and "Sign in with a passkey" in page.text
    options = client.post(LOGIN_OPTIONS).json
    assert options["userVerification"] == "required" and options["rpId"] == "localhost"
    assert "allowCredentials" not in options or options["allowCredentials"] == []  # discoverable: no username
    response = client.post(LOGIN, data={"credential": authenticator.sign_in(options)})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "ada@example.com" in _signed_in_as(client)
    with client.session_transaction() as flask_session:
        assert isinstance(flask_session.get(stepup.STAMP), int)  # step-up pages need no extra confirmation
    [login] = [e for e in _events(app, "auth.login") if e.after["method"] == "passkey"]
    assert str(login.target_id) == str(owner.id)
    with app.app_context():
        row = db.session.scalar(sa.select(WebAuthnCredential))
        assert row.sign_count == 1 and row.last_used_at is not None


def test_sign_in_keeps_next_and_remember(app, client):
    authenticator, _ = _with_passkey(app, client)
    options = client.post(LOGIN_OPTIONS).json
    response = client.post(
        f"{LOGIN}?next=/invoices/", data={"credential": authenticator.sign_in(options), "remember": "y"}
    )
    assert response.headers["Location"] == "/invoices/"
    assert any(e.after["method"] == "passkey" and e.after["remember"] is True for e in _events(app, "auth.login"))


def test_an_unknown_credential_is_refused_and_audited(app, client):
    _with_passkey(app, client)
    stranger = SoftAuthenticator()
    options = client.post(LOGIN_OPTIONS).json
    refused = client.post(LOGIN, data={"credential": stranger.sign_in(options)})
    assert refused.status_code == 401 and "isn’t registered here" in refused.text
    assert _signed_in_as(client) is None
    assert [e.after["reason"] for e in _events(app, "auth.login_failed")] == ["unknown_passkey"]


def test_a_replayed_answer_is_refused(app, client):
    authenticator, _ = _with_passkey(app, client)
    options = client.post(LOGIN_OPTIONS).json
    answer = authenticator.sign_in(options)
    cookie = client.get_cookie("session").value
    assert client.post(LOGIN, data={"credential": answer}).status_code == 303
    client.post("/auth/logout")
    refused = client.post(LOGIN, data={"credential": answer})
    assert refused.status_code == 400 and "expired or was already used" in refused.text
    client.set_cookie("session", cookie)  # the old cookie still holds the challenge: burned all the same
    replay = client.post(LOGIN, data={"credential": answer})
    assert replay.status_code == 400 and _signed_in_as(client) is None


def test_an_answer_made_for_another_origin_is_refused(app, client):
    authenticator, owner = _with_passkey(app, client)
    options = client.post(LOGIN_OPTIONS).json
    phished = client.post(
        LOGIN, data={"credential": authenticator.sign_in(options, origin="https://login.evil.example")}
    )
    assert phished.status_code == 401 and _signed_in_as(client) is None
    assert [e.after["reason"] for e in _events(app, "auth.login_failed")] == ["passkey"]


def test_an_answer_to_another_challenge_is_refused(app, client):
    authenticator, _ = _with_passkey(app, client)
    client.post(LOGIN_OPTIONS)
    forged = {"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    assert client.post(LOGIN, data={"credential": authenticator.sign_in(forged)}).status_code == 401


def test_a_sign_count_that_goes_backwards_is_refused_and_audited(app, client):
    authenticator, _ = _with_passkey(app, client)
    with app.app_context():
        db.session.execute(sa.update(WebAuthnCredential).values(sign_count=10))
        db.session.commit()
    options = client.post(LOGIN_OPTIONS).json
    cloned = client.post(LOGIN, data={"credential": authenticator.sign_in(options, sign_count=5)})
    assert cloned.status_code == 401 and "out of order" in cloned.text
    assert _signed_in_as(client) is None
    [regressed] = _events(app, "passkey.sign_count_regressed")
    assert regressed.before == {"sign_count": 10} and regressed.after == {"sign_count": 5}
    with app.app_context():
        assert db.session.scalar(sa.select(WebAuthnCredential.sign_count)) == 10
    options = client.post(LOGIN_OPTIONS).json
    assert client.post(LOGIN, data={"credential": authenticator.sign_in(options, sign_count=11)}).status_code == 303


def test_an_authenticator_without_a_counter_signs_in_every_time(app, client):
    authenticator, _ = _with_passkey(app, client)
    for _ in range(2):
        options = client.post(LOGIN_OPTIONS).json
        assert client.post(LOGIN, data={"credential": authenticator.sign_in(options, sign_count=0)}).status_code == 303
        client.post("/auth/logout")


def test_a_user_handle_naming_another_account_is_refused(app, client):
    authenticator, _ = _with_passkey(app, client)
    _with_passkey(app, app.test_client(), username="bob")
    with app.app_context():
        bob = db.session.scalar(sa.select(User).where(User.username == "bob"))
        authenticator.user_handle = bob.id.bytes
    options = client.post(LOGIN_OPTIONS).json
    assert client.post(LOGIN, data={"credential": authenticator.sign_in(options)}).status_code == 401


def test_a_deactivated_account_cannot_sign_in_with_its_passkey(app, client):
    authenticator, owner = _with_passkey(app, client)
    with app.app_context():
        db.session.execute(sa.update(User).values(is_active=False))
        db.session.commit()
    options = client.post(LOGIN_OPTIONS).json
    assert client.post(LOGIN, data={"credential": authenticator.sign_in(options)}).status_code == 401
    assert _signed_in_as(client) is None


def test_broken_answers_are_a_4xx_never_a_500(app, client):
    _with_passkey(app, client)
    for broken in [
        "",
        "not json",
        "[]",
        "null",
        "{}",
        '{"id": "AA", "rawId": 5}',
        '{"response": {"clientDataJSON": 1}}',
    ]:
        client.post(LOGIN_OPTIONS)
        response = client.post(LOGIN, data={"credential": broken})
        assert 400 <= response.status_code < 500, broken
    assert client.post(LOGIN, data={"credential": "{}"}).status_code == 400  # no challenge at all
    assert client.post(LOGIN, json={"credential": {}}).status_code == 415


def test_failed_passkey_sign_ins_are_limited_like_other_sign_ins(make_app):
    limited = make_app(RATELIMIT_ENABLED=True)
    client = limited.test_client()
    stranger = SoftAuthenticator()
    statuses = []
    for _ in range(11):
        options = client.post(LOGIN_OPTIONS).json
        statuses.append(client.post(LOGIN, data={"credential": stranger.sign_in(options)}).status_code)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
