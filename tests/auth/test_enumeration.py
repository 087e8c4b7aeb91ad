"""No account enumeration: for every form that names an address, one with an account and one
without get the same answer, cost the same work (the same SQL statements) and queue the same
job; the job decides what to send. No job carries a code or a token.

benchmarks/enumeration.py measures the timing this makes equal."""

import json
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.mail import SentEmail
from tests.auth.conftest import code_in, delivered, queued_jobs, reset_link
from tests.support.oidc import without_tokens
from tests.support.users import DEFAULT_PASSWORD, make_user

TAKEN, FREE = "sam@example.com", "sal@example.com"  # both shown masked as s•••@example.com
PASSWORD = "a long unusual passphrase"


@dataclass
class Outcome:
    answer: tuple
    statements: list[tuple[str, str]]
    jobs: list[tuple]


def statement_shapes(statements: list[str]) -> list[tuple[str, str]]:
    """("SELECT", "users"), ("INSERT INTO", "user_otp"), …: the work, without the values."""
    return [re.match(r"\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", s).groups() for s in statements]


def job_shape(job: dict) -> tuple:
    return job["func"], job["queue"], [type(a).__name__ for a in job["args"]], sorted(job["kwargs"])


def answer(response, email: str) -> tuple:
    return response.status_code, response.headers.get("Location"), without_tokens(response).replace(email, "X")


@pytest.fixture
def sam(app):
    with app.app_context():
        return make_user(username="sam", email=TAKEN).id


@pytest.fixture
def both(app, count_queries, sam):
    """POST a form for TAKEN and for FREE, each from a fresh browser: (TAKEN's outcome, FREE's)."""

    def post(path: str, data, before=None) -> tuple[Outcome, Outcome]:
        outcomes = []
        for email in (TAKEN, FREE):
            browser = app.test_client()
            if before is not None:
                before(browser, email)
            queued = len(queued_jobs(app))
            with count_queries() as queries:
                response = browser.post(path, data=data(email))
            outcomes.append(
                Outcome(
                    answer(response, email),
                    statement_shapes(queries.statements),
                    [job_shape(j) for j in queued_jobs(app)[queued:]],
                )
            )
        return outcomes[0], outcomes[1]

    return post


def test_a_reset_request_answers_costs_and_queues_the_same_for_any_address(both):
    known, unknown = both("/auth/password-reset", lambda email: {"email": email})
    assert known.answer == unknown.answer and known.answer[0] == 200
    assert known.statements == unknown.statements
    assert known.jobs == unknown.jobs == [("jobs.auth.send_password_reset", "high", ["str"], [])]


def test_a_sign_in_code_request_answers_costs_and_queues_the_same_for_any_address(both):
    known, unknown = both("/auth/login/code", lambda email: {"email": email})
    assert known.answer == unknown.answer and known.answer[0] == 303
    assert known.statements == unknown.statements
    assert known.jobs == unknown.jobs == [("jobs.auth.send_code", "high", ["str"], [])]


def test_a_wrong_sign_in_code_answers_and_costs_the_same_for_any_address(both):
    def ask_for_a_code(browser, email):
        browser.post("/auth/login/code", data={"email": email})

    known, unknown = both("/auth/login/code/enter", lambda email: {"code": "000000"}, before=ask_for_a_code)
    assert known.answer == unknown.answer and known.answer[0] == 401
    assert known.statements == unknown.statements


def test_a_wrong_password_costs_the_same_for_an_unknown_account(both):
    known, unknown = both("/auth/login", lambda email: {"identifier": email, "password": "not the password!"})
    assert known.answer == unknown.answer and known.answer[0] == 401
    assert known.statements == unknown.statements


def test_a_signup_answers_and_queues_the_same_whether_or_not_the_email_is_taken(both):
    names = iter(["first_newbie", "second_newbie"])
    taken, new = both("/auth/signup", lambda email: {"username": next(names), "email": email, "password": PASSWORD})
    assert taken.answer == new.answer and taken.answer[:2] == (303, "/auth/verify")
    assert taken.jobs == new.jobs == [("jobs.auth.send_code", "high", ["str"], [])]
    assert taken.statements == new.statements  # the INSERT of the account does nothing for a taken email


def test_after_signup_a_wrong_code_and_a_resend_answer_the_same_whether_or_not_the_email_was_taken(both):
    names = iter(["first_newbie", "second_newbie", "third", "fourth"])

    def sign_up(browser, email):
        browser.post("/auth/signup", data={"username": next(names), "email": email, "password": PASSWORD})

    taken, new = both("/auth/verify", lambda email: {"code": "000000"}, before=sign_up)
    assert taken.answer == new.answer and taken.answer[0] == 401
    assert taken.statements == new.statements
    taken, new = both("/auth/verify/resend", lambda email: {}, before=sign_up)
    assert taken.answer == new.answer and taken.answer[0] == 429  # the same cooldown either way
    assert [shape[0] for shape in taken.statements] == [shape[0] for shape in new.statements]


def test_no_job_and_no_send_record_carries_a_code_or_a_token(app, client, sam):
    client.post("/auth/signup", data={"username": "grace", "email": "grace@example.com", "password": PASSWORD})
    app.test_client().post("/auth/login/code", data={"email": TAKEN})
    app.test_client().post("/auth/password-reset", data={"email": TAKEN})
    phone = app.test_client()
    phone.post("/auth/login", data={"identifier": "sam", "password": DEFAULT_PASSWORD})
    phone.post(
        "/account/profile",
        data={
            "first_name": "Sam",
            "last_name": "",
            "gender": "",
            "date_of_birth": "",
            "line1": "",
            "line2": "",
            "city": "",
            "region": "",
            "postal_code": "",
            "country": "",
            "phone": "+44 7911 123456",
        },
    )

    messages = {m.kind: m for m in delivered(app)}
    assert set(messages) == {"verification_code", "login_code", "password_reset", "sms"}
    secrets = [code_in(messages[kind].text) for kind in ("verification_code", "login_code", "sms")]
    secrets.append(reset_link(app).rsplit("/", 1)[1])
    payloads = json.dumps([[job["args"], job["kwargs"]] for job in queued_jobs(app)])
    with app.app_context():
        recorded = json.dumps([[r.to, r.subject, r.message_id] for r in db.session.scalars(sa.select(SentEmail))])
    assert "sign-in code: [REDACTED]" in recorded  # the subject, as sent, holds the code
    for secret in secrets:
        assert secret not in payloads and secret not in recorded
