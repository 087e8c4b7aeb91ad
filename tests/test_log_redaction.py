"""No code, token or password in a log: the web app's, the worker's (RQ's own lines included).

Jobs carry ids, never secrets (tests/auth/test_enumeration.py); the redaction in
app/observability.py scrubs whatever is named like a secret anyway, and these tests
read the logs a real run writes.
"""

import logging

import pytest
import requests

from app.extensions import db
from app.mail.services import queue_email
from app.observability import REDACTED, redact
from app.outbox import enqueue
from tests.auth.conftest import code_in, last_code
from tests.support.faults import flask_command, process_env, wait_until
from tests.support.jobs import JobRunner
from tests.support.users import make_user

PASSWORD = "analytical engine 1843"
NEW_PASSWORD = "difference engine 1822"
PROFILE = {
    "first_name": "Grace",
    "last_name": "",
    "gender": "",
    "date_of_birth": "",
    "line1": "",
    "line2": "",
    "city": "",
    "region": "",
    "postal_code": "",
    "country": "",
}


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (
            "high: jobs.email.send_email({'to': 'a@b.test', 'template': 'login_code', 'context': {'code': '105733'}})",
            "105733",
        ),
        ("jobs.auth.send_sms('+14155550100', 'MultiProduct: your verification code is 771204. It expires…')", "771204"),
        ("create_admin(email=boss@example.test, password=hunter2hunter2)", "hunter2hunter2"),
        ('{"username": "ada", "password": "correct horse battery"}', "correct horse battery"),
        ("{'password_hash': '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'}", "$argon2id$v=19$m=19456"),
        (
            '"GET /auth/password-reset/eyJ1IjoiM2YyYSJ9.Z1x2Yw.q8b2Vh0yN0kFqjx1tF2ZtYD HTTP/1.1" 200 -',
            "eyJ1IjoiM2YyYSJ9",
        ),
        ("Authorization: Bearer metrics-token-42", "metrics-token-42"),
        ("{'Authorization': 'Basic YWRhOnNlY3JldA==', 'Host': 'x'}", "YWRhOnNlY3JldA=="),
        ("Cookie: session=.eJwlzjEOwzAIAMCvMLrGSNbR2o; remember_token=abc", "eJwlzjEOwzAIAMCvMLrGSNbR2o"),
        ("/auth/oauth/google/callback?code=4/0AfJohXk&state=xyz", "4/0AfJohXk"),
        ("csrf_token=IjY4Y2E1ZGQ2 reset_token: abcdefgh", "IjY4Y2E1ZGQ2"),
        ("client_secret='whsec_live_123'", "whsec_live_123"),
    ],
)
def test_secrets_are_redacted_wherever_they_are_named(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned and REDACTED in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "GET /products/?page=2 HTTP/1.1 200",
        "status_code=200 exit_code=1 postal_code: SW1Y 4JH",
        "job outbox-12 (jobs.auth.send_code) finished",
        "user_otp.status = 'active'",
        "barcode=5012345678900",
    ],
)
def test_ordinary_lines_are_left_alone(line):
    assert redact(line) == line


def test_a_secret_in_an_exception_is_redacted_from_its_traceback(app, caplog):
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError("login failed for password=hunter2hunter2")
    except ValueError:
        logging.getLogger("app.test").exception("something broke")
    assert "something broke" in caplog.text and "hunter2hunter2" not in caplog.text


def _latest(sink, kind: str):
    return [m for m in sink.messages if f".{kind}." in m["Message-ID"]][-1]


def test_codes_tokens_and_passwords_never_reach_the_web_or_worker_log(app, smtp_sink, live_server, caplog):
    caplog.set_level(logging.DEBUG)
    app.config["DEV_MAIL_OUTBOX"] = True  # where the texted code lands

    def work():
        JobRunner(app)(logging_level="DEBUG")  # with RQ's own "high: jobs.x(…)" lines

    browser = app.test_client()
    browser.post("/auth/signup", data={"username": "grace", "email": "grace@example.com", "password": PASSWORD})
    work()
    verification = code_in(smtp_sink.text(_latest(smtp_sink, "verification_code")))
    assert browser.post("/auth/verify", data={"code": verification}).status_code == 303
    browser.post("/account/profile", data={**PROFILE, "phone": "+44 7911 123456"})
    work()
    texted = last_code(app, "sms")
    assert browser.post("/account/phone/verify", data={"code": texted}).status_code == 303
    browser.post("/auth/logout")
    browser.post("/auth/login/code", data={"email": "grace@example.com"})
    work()
    sign_in = code_in(smtp_sink.text(_latest(smtp_sink, "login_code")))
    assert browser.post("/auth/login/code/enter", data={"code": sign_in}).status_code == 303
    # The reset link followed over real HTTP: the server logs each request line.
    requests.post(live_server.url("/auth/password-reset"), data={"email": "grace@example.com"}, timeout=10)
    work()
    link = next(
        word for word in smtp_sink.text(_latest(smtp_sink, "password_reset")).split() if "/auth/password-reset/" in word
    )
    assert requests.get(link, timeout=10).status_code == 200
    assert requests.post(link, data={"password": NEW_PASSWORD}, timeout=10).status_code == 200  # → login page
    assert (
        app.test_client().post("/auth/login", data={"identifier": "grace", "password": NEW_PASSWORD}).status_code == 303
    )

    logged = caplog.text
    assert "jobs.auth.send_code(" in logged and "Job OK" in logged  # the worker's lines were captured
    assert f"/auth/password-reset/{REDACTED}" in logged  # the request line, without its token
    for secret in (PASSWORD, NEW_PASSWORD, verification, texted, sign_in, link.rsplit("/", 1)[1]):
        assert secret not in logged


def test_a_flask_worker_process_logs_its_jobs_without_their_secrets(app, smtp_sink, app_processes):
    """Jobs queued before this release still carry a code; the worker's own log lines must not show it."""
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
        queue_email("ada@example.com", "login_code", {"name": "ada", "code": "482913", "expires_minutes": 10})
        enqueue("jobs.auth.send_sms", "+14155550100", "MultiProduct: your verification code is 771204.", queue="high")
        db.session.commit()
    assert app.test_client().post("/auth/login/code", data={"email": "ada@example.com"}).status_code == 303

    worker = app_processes("worker", flask_command("worker", "--burst"), process_env(app, LOG_LEVEL="DEBUG"))
    wait_until(lambda: not worker.alive, 60, message="the burst worker to finish")
    output = worker.output()

    assert output.count("Job OK") == 3, output
    assert "jobs.email.send_email(" in output and "jobs.auth.send_sms(" in output
    codes = {code_in(smtp_sink.text(message)) for message in smtp_sink.wait_for(2)}
    assert "482913" in codes and len(codes) == 2  # the old-style email and a code made by the worker
    for secret in (*codes, "771204"):
        assert secret not in output
