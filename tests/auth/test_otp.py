"""One-time codes: issue, verify, expiry, cooldown, caps, and races on Postgres."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.otp import cleanup_otps, code_for, issue_otp, verify_otp
from app.errors import RateLimited
from app.extensions import db
from app.models.base import utcnow
from app.models.otp import UserOTP
from app.models.user import User
from tests.support.users import make_user


def _issue(user, purpose="verify_email", **kw):
    code = code_for(issue_otp(user, purpose, **kw))
    db.session.commit()
    return code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_is_six_digits_and_only_its_hash_is_stored(session):
    user = make_user()
    code = _issue(user)
    assert len(code) == 6 and code.isdigit()
    row = session.scalar(sa.select(UserOTP))
    assert row.code_hash != code and code not in row.code_hash
    assert row.status == "active" and row.expires_at - row.created_at == timedelta(minutes=10)


def test_a_code_is_made_again_the_same_from_its_row_so_a_retried_send_repeats_it(session):
    user = make_user()
    code = _issue(user)
    row_id = session.scalar(sa.select(UserOTP.id))
    session.expunge_all()
    assert code_for(session.get(UserOTP, row_id)) == code
    assert verify_otp(session.merge(user), "verify_email", code) is True


def test_codes_of_different_rows_differ(session):
    codes = {_issue(None, "link_email", target=f"person{n}@example.test") for n in range(20)}
    assert len(codes) > 15 and all(len(c) == 6 and c.isdigit() for c in codes)


def test_the_right_code_works_once(session):
    user = make_user()
    code = _issue(user)
    assert verify_otp(user, "verify_email", code) is True
    assert verify_otp(user, "verify_email", code) is False
    assert session.scalar(sa.select(UserOTP.status)) == "used"


def test_wrong_code_five_times_voids_the_code(session):
    user = make_user()
    code = _issue(user)
    for attempt in range(1, 5):
        assert verify_otp(user, "verify_email", _wrong(code)) is False
        assert session.scalar(sa.select(UserOTP.failed_attempts)) == attempt
        assert session.scalar(sa.select(UserOTP.status)) == "active"
    assert verify_otp(user, "verify_email", _wrong(code)) is False
    assert session.scalar(sa.select(UserOTP.status)) == "void"
    assert verify_otp(user, "verify_email", code) is False  # the right code no longer helps


def test_a_code_expires_after_ten_minutes(session, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    user = make_user()
    code = _issue(user)
    time_machine.shift(timedelta(minutes=10, seconds=1))
    assert verify_otp(user, "verify_email", code) is False
    assert session.scalar(sa.select(UserOTP.status)) == "expired"


def test_a_new_code_voids_the_old_one_of_the_same_purpose_only(session, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    user = make_user()
    _issue(user)
    login = _issue(user, "login")
    time_machine.shift(timedelta(seconds=61))
    second = _issue(user)
    statuses = dict(
        session.execute(sa.select(UserOTP.created_at, UserOTP.status).where(UserOTP.purpose == "verify_email")).all()
    )
    assert sorted(statuses.values()) == ["active", "void"]
    assert verify_otp(user, "verify_email", second) is True
    assert verify_otp(user, "login", login) is True


def test_resend_has_a_60_second_cooldown(session, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    user = make_user()
    _issue(user)
    time_machine.shift(timedelta(seconds=20))
    with pytest.raises(RateLimited) as caught:
        issue_otp(user, "verify_email")
    assert caught.value.retry_after == 40
    time_machine.shift(timedelta(seconds=40))
    assert issue_otp(user, "verify_email")


def test_at_most_five_codes_an_hour(session, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    user = make_user()
    for _ in range(5):
        _issue(user)
        time_machine.shift(timedelta(minutes=2))
    with pytest.raises(RateLimited) as caught:
        issue_otp(user, "verify_email")
    assert caught.value.retry_after == 50 * 60  # the oldest leaves the window 60 min after it was issued
    time_machine.shift(timedelta(minutes=50))
    assert issue_otp(user, "verify_email")


def test_a_code_issued_for_one_target_does_not_prove_another(session):
    user = make_user()
    code = _issue(user, "verify_phone", target="+14155550100")
    assert verify_otp(user, "verify_phone", code, target="+14155550199") is False
    assert verify_otp(user, "verify_phone", code, target="+14155550100") is True


def test_cleanup_deletes_finished_codes_older_than_the_hourly_window(session, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    user = make_user()
    used = _issue(user)
    verify_otp(user, "verify_email", used)
    _issue(user, "login")  # stays active, then expires
    time_machine.shift(timedelta(minutes=30))
    assert cleanup_otps() == 0  # still counted by the hourly cap
    _issue(user, "verify_phone", target="+14155550100")
    time_machine.shift(timedelta(minutes=31))
    assert cleanup_otps() == 2
    assert session.scalars(sa.select(UserOTP.purpose)).all() == ["verify_phone"]


def _race(app, user_id, code: str, n: int = 20) -> list[bool]:
    results: list[bool] = []
    barrier = threading.Barrier(n)
    lock = threading.Lock()

    def submit():
        with app.app_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            ok = verify_otp(user, "verify_email", code)
            with lock:
                results.append(ok)
            db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def issued(app):
    """(user id, code) of a fresh verification code."""
    with app.app_context():
        user = make_user()
        return user.id, _issue(user)


@pytest.mark.postgres
def test_twenty_concurrent_right_codes_succeed_exactly_once(app, issued):
    user_id, code = issued
    results = _race(app, user_id, code)
    assert results.count(True) == 1 and len(results) == 20
    with app.app_context():
        assert db.session.scalar(sa.select(UserOTP.status)) == "used"


@pytest.mark.postgres
def test_twenty_concurrent_wrong_codes_count_exactly_and_void_the_code(app, issued):
    user_id, code = issued
    results = _race(app, user_id, _wrong(code))
    assert results == [False] * 20
    with app.app_context():
        row = db.session.scalar(sa.select(UserOTP))
        # Attempts stop counting once the 5th voids it: the others find no active code.
        assert (row.failed_attempts, row.status) == (5, "void")


# --- Codes that prove an address before it has an account (social sign-in without an email) ---

ADDRESS = "linus@example.test"


def test_a_code_for_an_address_proves_that_address_only(session):
    code = _issue(None, "link_email", target=ADDRESS)
    row = session.scalar(sa.select(UserOTP))
    assert (row.user_id, row.target, row.status) == (None, ADDRESS, "active")
    assert verify_otp(None, "link_email", code, target="other@example.test") is False
    assert verify_otp(None, "link_email", code, target=ADDRESS) is True
    assert verify_otp(None, "link_email", code, target=ADDRESS) is False  # once


def test_an_address_code_and_an_account_code_never_stand_in_for_each_other(session):
    user = make_user(email=ADDRESS)
    account_code = _issue(user, "link_email", target=ADDRESS)
    assert verify_otp(None, "link_email", account_code, target=ADDRESS) is False
    address_code = _issue(None, "link_email", target=ADDRESS)
    assert verify_otp(user, "link_email", address_code, target=ADDRESS) is False
    assert verify_otp(None, "link_email", address_code, target=ADDRESS) is True


def test_address_codes_have_the_same_cooldown_voiding_and_attempt_rules(session, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    first = _issue(None, "link_email", target=ADDRESS)
    with pytest.raises(RateLimited):
        issue_otp(None, "link_email", target=ADDRESS)
    assert _issue(None, "link_email", target="someone.else@example.test")  # per address
    time_machine.shift(timedelta(seconds=61))
    second = _issue(None, "link_email", target=ADDRESS)
    assert verify_otp(None, "link_email", first, target=ADDRESS) is False  # voided by the new one
    for _ in range(5):
        assert verify_otp(None, "link_email", _wrong(second), target=ADDRESS) is False
    assert verify_otp(None, "link_email", second, target=ADDRESS) is False  # the 5th wrong try voided it


def test_a_code_without_a_user_needs_its_address(session):
    with pytest.raises(ValueError):
        issue_otp(None, "link_email")
    assert verify_otp(None, "link_email", "123456") is False


@pytest.mark.postgres
def test_twenty_concurrent_requests_for_one_address_issue_one_code(app):
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def request_code():
        with app.app_context():
            barrier.wait()
            try:
                issue_otp(None, "link_email", target=ADDRESS)
                db.session.commit()
                outcome = "issued"
            except RateLimited:
                db.session.rollback()
                outcome = "limited"
            with lock:
                outcomes.append(outcome)
            db.session.remove()

    threads = [threading.Thread(target=request_code) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["issued"] + ["limited"] * 19
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserOTP)) == 1
