"""Time zones: chosen on the profile, detected from the browser once, never overwritten; pages show
each person's clock with the zone named, and say "UTC" when nothing is known."""

import re
from datetime import UTC, datetime

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User, UserSession
from tests.account.test_profile import PROFILE
from tests.support.users import make_user, sign_in

# A fixed instant (December: New York on EST) ahead of the clock, so the session shown is still live
# whenever the suite runs (a past one would be past the idle timeout and sign the client out).
SIGNED_IN_AT = datetime(2036, 12, 7, 13, 5, tzinfo=UTC)


def _zone(app, username="ada"):
    with app.app_context():
        return db.session.scalar(sa.select(User.timezone).where(User.username == username))


def _set_zone(app, name, username="ada"):
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == username).values(timezone=name))
        db.session.commit()


def _session_times(app, when=SIGNED_IN_AT):
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(created_at=when, last_seen_at=when))
        db.session.commit()


def _selected(page: str) -> str:
    match = re.search(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected', page)
    assert match, "one time zone is selected"
    return match.group(1) or match.group(2)


def test_the_profile_lists_every_zone_grouped_with_its_offset(signed_in):
    page = signed_in.get("/account/profile").text
    assert '<label for="timezone">Time zone</label>' in page
    assert '<optgroup label="Europe">' in page and '<optgroup label="America">' in page
    assert re.search(r'<option value="Europe/Berlin">Europe/Berlin \(UTC\+0[12]:00\)</option>', page)
    assert page.count("<option") > 400
    assert _selected(page) == "UTC"  # nothing known: UTC


def test_the_profile_selects_the_detected_zone_until_one_is_chosen(app, signed_in):
    signed_in.set_cookie("tz", "Asia/Tokyo")
    page = signed_in.get("/account/profile").text
    assert _selected(page) == "Asia/Tokyo" and "Detected from your browser" in page
    _set_zone(app, "Europe/Berlin")
    assert _selected(signed_in.get("/account/profile").text) == "Europe/Berlin"


def test_saving_the_profile_stores_the_chosen_zone_and_audits_it(app, signed_in):
    response = signed_in.post("/account/profile", data={**PROFILE, "timezone": "America/New_York"})
    assert response.status_code == 303
    assert _zone(app) == "America/New_York"
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.profile_updated"))
        assert "timezone" in event.after["fields"]


def test_a_profile_posted_without_a_zone_keeps_the_one_set(app, signed_in):
    _set_zone(app, "Europe/Berlin")
    assert signed_in.post("/account/profile", data=PROFILE).status_code == 303
    assert _zone(app) == "Europe/Berlin"


def test_a_name_that_is_no_zone_gets_a_message_beside_the_field_and_changes_nothing(app, signed_in):
    _set_zone(app, "Europe/Berlin")
    for bad in ("Mars/Olympus_Mons", "europe/berlin", "localtime", "Europe/Berlin\x00", "x" * 5000):
        response = signed_in.post("/account/profile", data={**PROFILE, "first_name": "Changed", "timezone": bad})
        assert response.status_code == 400, bad
        assert (
            '<p class="field-error" id="timezone-error" role="alert">Choose a time zone from the list' in response.text
        )
        assert 'aria-describedby="timezone-hint timezone-error"' in response.text
    assert _zone(app) == "Europe/Berlin"
    with app.app_context():
        assert db.session.scalar(sa.select(User.first_name).where(User.username == "ada")) == "Ada"


def test_a_page_carries_the_detection_hook_only_while_the_profile_has_no_zone(app, signed_in):
    home = signed_in.get("/").text
    assert 'data-timezone-save="/account/timezone"' in home
    assert 'src="/static/js/timezone.js' in home
    _set_zone(app, "Asia/Tokyo")
    assert "data-timezone-save" not in signed_in.get("/").text


def test_a_visitor_gets_no_detection_hook_and_cannot_post_one(app):
    visitor = app.test_client()
    assert "data-timezone-save" not in visitor.get("/").text
    response = visitor.post("/account/timezone", data={"timezone": "Asia/Tokyo"})
    assert response.status_code in (302, 303, 401) and "/auth/login" in response.headers.get("Location", "")


def test_the_detected_zone_is_stored_once_and_never_overwrites(app, signed_in):
    first = signed_in.post("/account/timezone", data={"timezone": "America/New_York"})
    assert first.status_code == 204 and _zone(app) == "America/New_York"
    again = signed_in.post("/account/timezone", data={"timezone": "Asia/Tokyo"})
    assert again.status_code == 204 and _zone(app) == "America/New_York"
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.timezone_detected")).all()
        assert [e.after for e in events] == [{"timezone": "America/New_York"}]


def test_detection_never_replaces_a_zone_chosen_on_the_profile(app, signed_in):
    signed_in.post("/account/profile", data={**PROFILE, "timezone": "Europe/Berlin"})
    assert signed_in.post("/account/timezone", data={"timezone": "Asia/Tokyo"}).status_code == 204
    assert _zone(app) == "Europe/Berlin"


def test_a_detected_name_that_is_no_zone_is_refused_and_stores_nothing(app, signed_in):
    for bad in ("", "Mars/Olympus_Mons", "<script>", "Europe/Berlin\x00"):
        response = signed_in.post("/account/timezone", data={"timezone": bad})
        assert response.status_code == 400, bad
        assert "Choose a time zone from the list" in response.text
    assert _zone(app) is None


def test_detection_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        user = make_user(username="grace")
        sign_in(client, user)
    page = client.get("/").text
    token = re.search(r'data-timezone-save="/account/timezone" data-csrf="([^"]+)"', page).group(1)
    refused = client.post("/account/timezone", data={"timezone": "Asia/Tokyo"})
    assert refused.status_code == 400 and _zone(app, "grace") is None
    stored = client.post("/account/timezone", data={"timezone": "Asia/Tokyo"}, headers={"X-CSRFToken": token})
    assert stored.status_code == 204 and _zone(app, "grace") == "Asia/Tokyo"


def test_sessions_show_the_profiles_zone_named_with_the_utc_instant_for_machines(app, signed_in):
    _set_zone(app, "America/New_York")
    signed_in.set_cookie("tz", "Asia/Tokyo")  # the profile's zone wins over the browser's
    _session_times(app)
    page = signed_in.get("/account/sessions").text
    assert '<time datetime="2036-12-07T13:05:00Z">07 Dec 2036, 08:05 EST</time>' in page


def test_without_a_profile_zone_the_browsers_is_used(app, signed_in):
    signed_in.set_cookie("tz", "Asia/Tokyo")
    _session_times(app)
    assert "07 Dec 2036, 22:05 JST" in signed_in.get("/account/sessions").text


def test_without_javascript_times_stay_utc_and_say_so(app, signed_in):
    _session_times(app)
    assert "07 Dec 2036, 13:05 UTC" in signed_in.get("/account/sessions").text
    signed_in.set_cookie("tz", "Not/A_Zone")  # a forged cookie counts for nothing
    assert "07 Dec 2036, 13:05 UTC" in signed_in.get("/account/sessions").text


def test_signing_up_keeps_the_zone_the_browser_reported(app, client):
    client.set_cookie("tz", "Europe/Berlin")
    form = {"username": "grace_h", "email": "grace@example.com", "password": "analytical engine 1843"}
    assert client.post("/auth/signup", data=form).status_code == 303
    assert _zone(app, "grace_h") == "Europe/Berlin"


def test_signing_up_with_a_forged_zone_cookie_keeps_none(app, client):
    client.set_cookie("tz", "../../etc/passwd")
    form = {"username": "grace_h", "email": "grace@example.com", "password": "analytical engine 1843"}
    assert client.post("/auth/signup", data=form).status_code == 303
    assert _zone(app, "grace_h") is None
