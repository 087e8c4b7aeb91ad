"""/account/security/passkeys over HTTP: the registration ceremony, rename and remove, with a software
authenticator (tests/support/authenticator.py) whose every answer py_webauthn verifies."""

import time

import sqlalchemy as sa

from app.auth import passkeys, stepup
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.passkey import WebAuthnCredential
from tests.auth.conftest import queued_emails
from tests.support.authenticator import ADD, OPTIONS, SoftAuthenticator, add_passkey
from tests.support.users import make_user, sign_in


def _rows(app) -> list[WebAuthnCredential]:
    with app.app_context():
        rows = db.session.scalars(sa.select(WebAuthnCredential).order_by(WebAuthnCredential.id)).all()
        db.session.expunge_all()
    return list(rows)


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.created_at)))


def test_options_require_a_discoverable_credential_and_user_verification(app, signed_in):
    options = signed_in.post(OPTIONS)
    assert options.status_code == 200 and options.headers["Cache-Control"] == "no-store"
    body = options.json
    assert body["rp"] == {"id": "localhost", "name": "MultiProduct"}
    assert body["authenticatorSelection"]["residentKey"] == "required"
    assert body["authenticatorSelection"]["userVerification"] == "required"
    assert len(body["challenge"]) >= 43  # 32 random bytes or more


def test_a_passkey_is_added_listed_audited_and_the_owner_emailed(app, signed_in, user):
    authenticator = add_passkey(signed_in, name="Work laptop")
    [row] = _rows(app)
    assert row.user_id == user.id and row.credential_id == authenticator.credential_id
    assert row.name == "Work laptop" and row.transports == ["internal"] and row.sign_count == 0
    page = signed_in.get("/account/security/passkeys")
    assert "Work laptop" in page.text and "Last used never" in page.text
    assert "passkey.added" in _actions(app)
    [email] = queued_emails(app, "passkey_added")
    assert email["to"] == user.email and email["context"]["passkey_name"] == "Work laptop"
    with app.app_context():
        assert passkeys.count_for(db.session.get(type(user), user.id)) == 1


def test_an_empty_name_is_the_browser_it_was_made_in(app, signed_in):
    options = signed_in.post(OPTIONS, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537"})
    answer = SoftAuthenticator().register(options.json)
    signed_in.post(
        ADD,
        data={"name": "", "credential": answer},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537"},
    )
    assert [r.name for r in _rows(app)] == ["Chrome on Linux"]


def test_a_replayed_challenge_is_refused(app, signed_in):
    options = signed_in.post(OPTIONS)
    answer = SoftAuthenticator().register(options.json)
    assert signed_in.post(ADD, data={"credential": answer}).status_code == 200  # added: its recovery codes
    again = signed_in.post(ADD, data={"credential": SoftAuthenticator().register(options.json)})
    assert again.status_code == 400 and "expired or was already used" in again.text
    assert len(_rows(app)) == 1


def test_an_old_session_cookie_sent_again_does_not_bring_its_challenge_back(app, signed_in):
    options = signed_in.post(OPTIONS)
    cookie = signed_in.get_cookie("session").value
    assert signed_in.post(ADD, data={"credential": SoftAuthenticator().register(options.json)}).status_code == 200
    signed_in.set_cookie("session", cookie)  # the cookie that still held the challenge
    replay = signed_in.post(ADD, data={"credential": SoftAuthenticator().register(options.json)})
    assert replay.status_code == 400 and "expired or was already used" in replay.text
    assert len(_rows(app)) == 1


def test_a_challenge_lasts_five_minutes(app, signed_in):
    options = signed_in.post(OPTIONS)
    with signed_in.session_transaction() as flask_session:
        flask_session[passkeys.CHALLENGE]["at"] -= passkeys.CHALLENGE_SECONDS + 1
        flask_session[stepup.STAMP] = int(time.time())
    late = signed_in.post(ADD, data={"credential": SoftAuthenticator().register(options.json)})
    assert late.status_code == 400 and _rows(app) == []


def test_an_answer_made_on_another_origin_is_refused(app, signed_in):
    options = signed_in.post(OPTIONS)
    phished = SoftAuthenticator().register(options.json, origin="https://multiproduct.example.evil")
    refused = signed_in.post(ADD, data={"credential": phished})
    assert refused.status_code == 400 and "couldn’t verify that passkey" in refused.text
    assert _rows(app) == [] and "passkey.add_failed" in _actions(app)


def test_an_answer_for_another_relying_party_is_refused(app, signed_in):
    options = signed_in.post(OPTIONS)
    refused = signed_in.post(ADD, data={"credential": SoftAuthenticator(rp_id="evil.example").register(options.json)})
    assert refused.status_code == 400 and _rows(app) == []


def test_broken_answers_are_a_400_beside_the_form_never_a_500(app, signed_in):
    for broken in ["not json", "[]", "null", "{}", '{"id": 1}', '{"response": []}', "x" * 30_000, '"\\u0000"']:
        signed_in.post(OPTIONS)
        refused = signed_in.post(ADD, data={"name": "Laptop", "credential": broken})
        assert refused.status_code == 400, broken
        assert "couldn’t verify that passkey" in refused.text
    assert signed_in.post(ADD, data={"name": "Laptop"}).status_code == 400  # no answer at all
    assert _rows(app) == []


def test_a_json_body_is_refused_before_any_view(app, signed_in):
    signed_in.post(OPTIONS)
    response = signed_in.post(ADD, json={"credential": {}})
    assert response.status_code == 415


def test_adding_renaming_and_removing_need_a_recent_sign_in(app, client, user):
    with app.app_context():
        sign_in(client, user)
        add_passkey(client)
    with client.session_transaction() as flask_session:
        flask_session.pop(stepup.STAMP)  # ten minutes later, or restored from the remember-me cookie
    [row] = _rows(app)
    referer = {"Referer": "http://localhost/account/security/passkeys"}
    for url in (OPTIONS, ADD, f"{ADD}/{row.id}/rename", f"{ADD}/{row.id}/remove"):
        response = client.post(url, data={"name": "Other"}, headers=referer)
        assert response.status_code == 303, url
        assert response.headers["Location"] == "/account/confirm?next=/account/security/passkeys"
    assert [r.name for r in _rows(app)] == ["Laptop"]
    assert client.get("/account/security/passkeys").status_code == 200  # the list itself is not guarded


def test_rename_and_remove(app, signed_in, user):
    add_passkey(signed_in, name="Laptop")
    [row] = _rows(app)
    blank = signed_in.post(f"{ADD}/{row.id}/rename", data={"name": "  "})
    assert blank.status_code == 400 and "Give the passkey a name." in blank.text
    renamed = signed_in.post(f"{ADD}/{row.id}/rename", data={"name": "Phone"})
    assert renamed.status_code == 303 and [r.name for r in _rows(app)] == ["Phone"]
    removed = signed_in.post(f"{ADD}/{row.id}/remove")
    assert removed.status_code == 303 and _rows(app) == []
    assert {"passkey.renamed", "passkey.removed"} <= set(_actions(app))
    [email] = queued_emails(app, "passkey_removed")
    assert email["to"] == user.email and email["context"]["passkey_name"] == "Phone"


def test_another_accounts_passkey_is_a_404_for_rename_and_remove(app, client, signed_in):
    with app.app_context():
        other = make_user(username="mallory", email="mallory@example.com")
        theirs = client.application.test_client()
        sign_in(theirs, other)
    add_passkey(theirs, name="Mallory's key")
    [row] = _rows(app)
    assert signed_in.post(f"{ADD}/{row.id}/rename", data={"name": "Mine now"}).status_code == 404
    assert signed_in.post(f"{ADD}/{row.id}/rename", data={"name": ""}).status_code == 404
    assert signed_in.post(f"{ADD}/{row.id}/remove").status_code == 404
    assert [r.name for r in _rows(app)] == ["Mallory's key"]
    assert "Mallory" not in signed_in.get("/account/security/passkeys").text


def test_the_same_authenticator_credential_cannot_be_added_twice(app, signed_in):
    authenticator = add_passkey(signed_in)
    options = signed_in.post(OPTIONS)
    assert [c["id"] for c in options.json["excludeCredentials"]]  # the browser is told which it has
    again = signed_in.post(ADD, data={"credential": authenticator.register(options.json)})
    assert again.status_code == 400 and "already registered" in again.text
    assert len(_rows(app)) == 1


def test_every_passkey_mutation_needs_the_csrf_token(make_app):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    with csrf_app.app_context():
        owner = make_user(username="ada")
        sign_in(client, owner)
        row = WebAuthnCredential(
            user_id=owner.id, credential_id=b"x" * 16, public_key=b"k", name="Laptop", transports=[], sign_count=0
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    for url in (
        OPTIONS,
        ADD,
        f"{ADD}/{row_id}/rename",
        f"{ADD}/{row_id}/remove",
        "/auth/passkey/options",
        "/auth/passkey",
    ):
        response = client.post(url, data={"name": "Other", "credential": "{}"})
        assert response.status_code == 400 and "Your form expired" in response.text, url
    with csrf_app.app_context():
        assert db.session.scalar(sa.select(WebAuthnCredential.name)) == "Laptop"


def test_the_summary_partial_counts_the_passkeys_and_links_to_the_page(app, signed_in, user):
    from flask import render_template

    with app.test_request_context():
        none = render_template("account/_passkeys_summary.html", passkey_count=0)
        two = render_template("account/_passkeys_summary.html", passkey_count=2)
    assert "No passkeys yet." in none and "Add a passkey" in none
    assert "2 passkeys can sign in to your account." in two and 'href="/account/security/passkeys"' in two


def test_a_signed_in_person_posting_a_passkey_sign_in_is_sent_on(signed_in):
    assert signed_in.post("/auth/passkey", data={"credential": "{}"}).status_code == 303
