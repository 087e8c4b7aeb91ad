"""Profile: names, gender, date of birth, address; a new phone is confirmed by a texted code."""

from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User
from tests.auth.conftest import code_in, delivered, last_code, queued_jobs, wrong
from tests.support.users import make_user

PROFILE = {
    "first_name": "Ada",
    "last_name": "King",
    "gender": "female",
    "date_of_birth": "1985-12-10",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country": "United Kingdom",
    "phone": "",
}


def _ada(app) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ada"))
        db.session.expunge(user)
        return user


def test_the_profile_page_shows_the_current_values(signed_in):
    page = signed_in.get("/account/profile")
    assert page.status_code == 200
    assert 'value="Ada"' in page.text and 'value="Lovelace"' in page.text
    assert '<label for="line1">' in page.text


def test_saving_the_profile_stores_names_gender_birthday_and_address(app, signed_in):
    response = signed_in.post("/account/profile", data=PROFILE)
    assert response.status_code == 303
    ada = _ada(app)
    assert (ada.first_name, ada.last_name, ada.gender) == ("Ada", "King", "female")
    assert ada.date_of_birth == date(1985, 12, 10)
    assert ada.address == {
        "line1": "12 St James's Square",
        "line2": "",
        "city": "London",
        "region": "",
        "postal_code": "SW1Y 4JH",
        "country": "United Kingdom",
    }
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.profile_updated"))
        assert set(event.after["fields"]) == {"last_name", "gender", "date_of_birth", "address"}
    assert 'value="SW1Y 4JH"' in signed_in.get("/account/profile").text


def test_a_new_phone_is_saved_only_after_the_texted_code(app, signed_in):
    response = signed_in.post("/account/profile", data={**PROFILE, "phone": "+44 7911 123456"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/phone/verify")
    assert _ada(app).phone is None
    [job] = queued_jobs(app)
    assert job["func"] == "jobs.auth.send_code" and job["queue"] == "high"
    [sms] = delivered(app, "sms")
    assert sms.to == "+447911123456"
    code = code_in(sms.text)
    bad = signed_in.post("/account/phone/verify", data={"code": wrong(code)})
    assert bad.status_code == 401 and 'id="code-error"' in bad.text
    assert signed_in.post("/account/phone/verify", data={"code": code}).status_code == 303
    ada = _ada(app)
    assert ada.phone == "+447911123456" and ada.phone_verified_at is not None
    assert "Verified" in signed_in.get("/account/profile").text


def test_verifying_a_number_takes_it_from_an_account_that_never_proved_it(app, signed_in):
    with app.app_context():
        squatter = make_user(username="squatter", phone="+14155550100").id
    signed_in.post("/account/profile", data={**PROFILE, "phone": "+1 415 555 0100"})
    code = last_code(app, "sms")
    assert signed_in.post("/account/phone/verify", data={"code": code}).status_code == 303
    assert _ada(app).phone == "+14155550100"
    with app.app_context():
        assert db.session.get(User, squatter).phone is None


def test_clearing_the_phone_removes_it(app, signed_in):
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "ada").values(phone="+14155550100"))
        db.session.commit()
    signed_in.post("/account/profile", data={**PROFILE, "phone": ""})
    assert _ada(app).phone is None


def test_invalid_values_are_explained_next_to_their_fields_and_nothing_is_saved(app, signed_in):
    bad = {**PROFILE, "gender": "robot", "date_of_birth": "2999-01-01", "phone": "12", "first_name": "x" * 81}
    response = signed_in.post("/account/profile", data=bad)
    assert response.status_code == 400
    for field in ("gender", "date_of_birth", "phone", "first_name"):
        assert f'id="{field}-error"' in response.text
    ada = _ada(app)
    assert (ada.first_name, ada.gender, ada.date_of_birth, ada.phone) == ("Ada", None, None, None)
