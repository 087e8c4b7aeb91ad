"""Passkeys in Chromium, for real: the CDP virtual authenticator (CTAP2, internal, resident keys, user
verification) registers a passkey from the passkeys page, and the login page signs in with it alone.

The app is served as development serves it (BASE_URL unset), on http://localhost:<port>: the relying
party id is the served host name, and browsers refuse an IP address as one.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.passkey import WebAuthnCredential
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


def virtual_authenticator(page) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


# A browser without the autofill UI for passkeys (conditional mediation): the virtual authenticator
# answers a conditional request at once, as if the person had picked the passkey from the field's
# list, so a test of the button turns that off to be sure the button did the signing in.
WITHOUT_AUTOFILL = """
if (window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };
}
"""


def _base(server) -> str:
    return f"http://localhost:{server.port}"


def _sign_in_with_password(page, base):
    page.goto(base + "/auth/login")
    page.get_by_label("Email, username or phone").fill("ada")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, Ada.").wait_for()


def _log_out(page):
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("button", name="Log out").click()
    page.get_by_text("You're logged out.").wait_for()


def _open_passkeys(page):
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Security").click()
    page.get_by_role("link", name=re.compile("Add a passkey|Manage passkeys")).click()
    page.get_by_role("heading", name="Passkeys", level=1).wait_for()


def _added(page, text: str = "added."):
    """After "Add a passkey": the first one comes with recovery codes (shown once), then the passkeys page."""
    page.get_by_text(text).first.wait_for()
    if page.get_by_role("heading", name="Your recovery codes").is_visible():
        assert page.locator(".recovery-codes li").count() == 10
        page.get_by_role("link", name="I’ve saved them").click()
        page.get_by_role("heading", name="Passkeys", level=1).wait_for()


def _credentials(app) -> list[WebAuthnCredential]:
    with app.app_context():
        rows = db.session.scalars(sa.select(WebAuthnCredential)).all()
        db.session.expunge_all()
    return list(rows)


def test_register_a_passkey_sign_out_and_sign_in_with_it_alone_then_rename_and_remove_it(
    app, dev_live_server, page, screenshot
):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", first_name="Ada")
    page.context.add_init_script(WITHOUT_AUTOFILL)
    cdp, authenticator = virtual_authenticator(page)
    base = _base(dev_live_server)
    _sign_in_with_password(page, base)
    _open_passkeys(page)
    assert page.get_by_text("You have no passkeys yet.").is_visible()
    assert not page.get_by_text("Adding a passkey needs JavaScript").is_visible()

    page.get_by_label("Passkey name").fill("Test laptop")
    page.get_by_role("button", name="Add a passkey").click()
    _added(page, "Passkey “Test laptop” added.")
    assert page.locator(".passkey strong").inner_text() == "Test laptop"
    [stored] = _credentials(app)
    assert stored.name == "Test laptop" and stored.transports == ["internal"]
    [on_authenticator] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert on_authenticator["isResidentCredential"] is True
    screenshot("passkeys-one")

    _log_out(page)
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_text("Welcome back, Ada.").wait_for()
    assert page.locator(".user-menu summary").inner_text().strip().endswith("ada")
    [used] = _credentials(app)
    assert used.last_used_at is not None and used.sign_count >= 1
    with app.app_context():
        login = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.created_at.desc())
        ).first()
        assert login.after["method"] == "passkey"

    _open_passkeys(page)
    page.get_by_text("Rename", exact=False).first.click()
    page.get_by_label("New name for Test laptop").fill("Work laptop")
    screenshot("passkeys-rename")
    page.get_by_role("button", name="Save name").click()
    page.get_by_text("Passkey renamed to “Work laptop”.").wait_for()
    assert [c.name for c in _credentials(app)] == ["Work laptop"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Work laptop").click()
    page.get_by_text("Passkey “Work laptop” removed.").wait_for()
    assert _credentials(app) == []
    assert page.get_by_text("You have no passkeys yet.").is_visible()
    assert [e for e in page.console_errors if not re.search(r"status of 4\d\d", e)] == []


def test_a_passkey_the_site_no_longer_knows_is_refused_on_the_login_page(app, dev_live_server, page):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", first_name="Ada")
    page.context.add_init_script(WITHOUT_AUTOFILL)
    virtual_authenticator(page)
    base = _base(dev_live_server)
    _sign_in_with_password(page, base)
    _open_passkeys(page)
    page.get_by_role("button", name="Add a passkey").click()
    _added(page)
    with app.app_context():  # removed behind the authenticator's back (another device, an admin)
        db.session.execute(sa.delete(WebAuthnCredential))
        db.session.commit()
    _log_out(page)
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_role("alert").get_by_text("That passkey isn’t registered here.").wait_for()
    assert page.url.startswith(base + "/auth/") and page.locator(".user-menu").count() == 0


def test_the_identifier_fields_autofill_offers_the_passkey_and_signs_in_with_it(app, dev_live_server, page):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", first_name="Ada")
    virtual_authenticator(page)
    base = _base(dev_live_server)
    _sign_in_with_password(page, base)
    _open_passkeys(page)
    page.get_by_role("button", name="Add a passkey").click()
    _added(page)
    _log_out(page)
    page.get_by_role("link", name="Log in").first.click()  # boosted: the script arms the field again
    identifier = page.get_by_label("Email, username or phone")
    assert identifier.get_attribute("autocomplete") == "username webauthn"
    # No button pressed: the virtual authenticator picks its passkey from the autofill request.
    page.get_by_text("Welcome back, Ada.").wait_for()
    with app.app_context():
        methods = db.session.scalars(
            sa.select(AuditEvent.after["method"].as_string()).where(AuditEvent.action == "auth.login")
        ).all()
    assert methods.count("passkey") == 1


def test_without_webauthn_the_passkey_button_stays_hidden_and_password_sign_in_works(app, browser, dev_live_server):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", first_name="Ada")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(_base(dev_live_server) + "/auth/login")
        assert not page.get_by_role("button", name="Sign in with a passkey").is_visible()
        page.get_by_label("Email, username or phone").fill("ada")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Welcome back, Ada.").wait_for()
        page.goto(_base(dev_live_server) + "/account/security/passkeys")
        assert page.get_by_text("Adding a passkey needs JavaScript").is_visible()
        assert not page.get_by_role("button", name="Add a passkey").is_visible()
    finally:
        context.close()


def test_adding_a_passkey_ten_minutes_after_signing_in_asks_to_confirm_first_and_comes_back(
    app, dev_live_server, page, time_machine
):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", first_name="Ada")
    virtual_authenticator(page)
    _sign_in_with_password(page, _base(dev_live_server))
    _open_passkeys(page)
    time_machine.move_to(datetime.now(UTC) + timedelta(minutes=11))  # the server's clock: the sign-in is stale
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_role("heading", name="Confirm it’s you").wait_for()
    assert page.url.endswith("/account/confirm?next=/account/security/passkeys")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Passkeys", level=1).wait_for()
    assert _credentials(app) == []
    page.get_by_role("button", name="Add a passkey").click()
    _added(page)
    assert len(_credentials(app)) == 1
