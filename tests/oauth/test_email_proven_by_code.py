"""The provider gave no usable email: the person names one and proves it with a code before
anything is created or linked. Real HTTP against the local Facebook-style server and OpenID provider."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.social import SocialAccount
from app.models.user import User, UserSession
from tests.auth.conftest import code_in, delivered, last_code, queued_emails, queued_jobs, wrong
from tests.support.oidc import Account, SocialFlow, actions, signed_in_as, text, users, without_tokens
from tests.support.users import make_user, sign_in

NO_EMAIL = Account("10220000000001", name="Linus Torvalds")


def start_waiting(social, account=NO_EMAIL, provider="facebook", **kwargs):
    response = social.sign_in(provider, account, **kwargs)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/oauth/email"
    return social.client


@pytest.fixture
def waiting(app, client, facebook, social):
    """A client whose Facebook sign-in (no email from Facebook) is waiting for an address."""
    return start_waiting(social, next="/catalog")


def social_accounts(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(sa.select(SocialAccount.provider, SocialAccount.subject, SocialAccount.user_id)).all()


def test_a_new_address_gets_a_code_and_only_the_code_creates_the_account(app, waiting):
    response = waiting.post("/auth/oauth/email", data={"email": "  Linus@Example.COM "})

    assert response.status_code == 303 and response.headers["Location"] == "/auth/oauth/email/code"
    [job] = queued_jobs(app)
    assert job["func"] == "jobs.auth.send_code" and job["queue"] == "high" and job["kwargs"] == {"name": "Linus"}
    [message] = delivered(app, "verification_code")
    assert message.to == "linus@example.com"
    assert "Hi Linus," in message.text and "expires in 10 minutes" in message.text
    with app.app_context():
        assert users(db.session) == [] and social_accounts(app) == []  # nothing before the proof
    page = waiting.get("/auth/oauth/email/code")
    assert page.status_code == 200 and "l•••@example.com" in text(page) and signed_in_as(waiting) is None

    response = waiting.post("/auth/oauth/email/code", data={"code": code_in(message.text)})

    assert response.status_code == 303 and response.headers["Location"] == "/catalog"
    with app.app_context():
        (user,) = users(db.session)
        assert (user.email, user.username, user.first_name) == ("linus@example.com", "linus_torvalds", "Linus")
        assert user.is_verified and user.password_hash is None
        assert social_accounts(app) == [("facebook", NO_EMAIL.login, user.id)]
        assert actions(db.session) == ["user.signup", "auth.login"]
        login = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.login"))
        assert login.after["method"] == "facebook" and login.actor_id == user.id
    assert [m["to"] for m in queued_emails(app, "welcome")] == ["linus@example.com"]
    assert signed_in_as(waiting) == "linus_torvalds"
    # The pending sign-in is used up.
    assert waiting.get("/auth/oauth/email/code").status_code == 400


def test_an_address_with_an_account_is_linked_once_the_emailed_code_proves_it(app, waiting, smtp_sink, run_jobs):
    with app.app_context():
        linus = make_user(username="linus", email="linus@example.com")
        linus_id, password_hash = linus.id, linus.password_hash

    response = waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    assert response.status_code == 303 and response.headers["Location"] == "/auth/oauth/email/code"
    with app.app_context():
        assert social_accounts(app) == []
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "linus@example.com"

    response = waiting.post("/auth/oauth/email/code", data={"code": code_in(smtp_sink.text(message))})

    assert response.status_code == 303 and response.headers["Location"] == "/catalog"
    with app.app_context():
        assert [u.id for u in users(db.session)] == [linus_id]
        assert db.session.get(User, linus_id).password_hash == password_hash  # a verified account keeps it
        assert social_accounts(app) == [("facebook", NO_EMAIL.login, linus_id)]
        assert actions(db.session) == ["user.social_linked", "auth.login"]
        link = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.social_linked"))
        assert link.actor_id == linus_id and link.after["provider"] == "facebook" and link.ip
    assert queued_emails(app, "welcome") == []
    assert signed_in_as(waiting) == "linus"
    # Next time Facebook alone signs Linus in.
    again = SocialFlow(app.test_client())
    assert again.sign_in("facebook", NO_EMAIL).status_code == 302 and signed_in_as(again.client) == "linus"


def test_a_code_for_an_account_that_never_proved_its_email_drops_its_password_and_sessions(app, waiting):
    with app.app_context():
        squatter = make_user(username="squatter", email="linus@example.com", verified=False)
        squatter_id, squatter_session = squatter.id, sign_in(app.test_client(), squatter).id
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})

    waiting.post("/auth/oauth/email/code", data={"code": last_code(app, "verification_code")})

    with app.app_context():
        user = db.session.get(User, squatter_id)
        assert user.is_verified and user.password_hash is None
        assert db.session.get(UserSession, squatter_session).revoked_at is not None
        assert actions(db.session) == ["user.email_verified", "user.social_linked", "auth.login"]
    assert signed_in_as(waiting) == "squatter"


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, client, facebook):
    with app.app_context():
        make_user(username="sam", email="sam@example.com")
    seen = []
    for n, address in enumerate(["sam@example.com", "sal@example.com"]):  # the same masked: s•••@example.com
        flow = SocialFlow(app.test_client())
        start_waiting(flow, Account(f"1022000000010{n}", name="Sam Doe"))
        sent = flow.client.post("/auth/oauth/email", data={"email": address})
        page = flow.client.get("/auth/oauth/email/code")
        wrong_code = flow.client.post("/auth/oauth/email/code", data={"code": "000000"})
        seen.append([(r.status_code, r.headers.get("Location"), without_tokens(r)) for r in (sent, page, wrong_code)])

    assert seen[0] == seen[1]
    assert "already" not in str(seen[0]) and "s•••@example.com" in seen[0][1][2]
    jobs = queued_jobs(app)
    assert [(j["func"], j["queue"], j["kwargs"]) for j in jobs] == [
        ("jobs.auth.send_code", "high", {"name": "Sam"})
    ] * 2
    assert [m.to for m in delivered(app, "verification_code")] == ["sam@example.com", "sal@example.com"]


def test_a_wrong_code_is_explained_next_to_the_field_and_the_fifth_voids_it(app, waiting):
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    code = last_code(app, "verification_code")

    response = waiting.post("/auth/oauth/email/code", data={"code": wrong(code)})

    assert response.status_code == 401
    assert 'id="code-error"' in response.text and "wrong or has expired" in text(response)
    with app.app_context():
        assert users(db.session) == []
        failure = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
        assert failure.after == {"method": "facebook", "reason": "code"}
    for _ in range(4):
        assert waiting.post("/auth/oauth/email/code", data={"code": wrong(code)}).status_code == 401
    assert waiting.post("/auth/oauth/email/code", data={"code": code}).status_code == 401  # voided
    with app.app_context():
        assert users(db.session) == [] and social_accounts(app) == []
    assert signed_in_as(waiting) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "<script>", "' OR 1=1 --"])
def test_a_malformed_code_is_explained_and_costs_no_attempt(app, waiting, code):
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    response = waiting.post("/auth/oauth/email/code", data={"code": code})
    assert response.status_code == 400 and 'id="code-error"' in response.text
    assert waiting.post("/auth/oauth/email/code", data={"code": last_code(app, "verification_code")}).status_code == 303


def test_a_pending_sign_in_expires_after_30_minutes(app, waiting, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    code = last_code(app, "verification_code")
    time_machine.shift(timedelta(minutes=30, seconds=1))

    for response in (
        waiting.get("/auth/oauth/email/code"),
        waiting.post("/auth/oauth/email/code", data={"code": code}),
        waiting.get("/auth/oauth/email"),
    ):
        assert response.status_code == 400 and "Your sign-in has expired. Please start again." in text(response)
    with app.app_context():
        assert users(db.session) == [] and social_accounts(app) == []


def test_a_code_expires_after_ten_minutes_and_a_new_one_works(app, waiting, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    first = last_code(app, "verification_code")
    time_machine.shift(timedelta(minutes=10, seconds=1))
    assert waiting.post("/auth/oauth/email/code", data={"code": first}).status_code == 401

    resent = waiting.post("/auth/oauth/email/resend")

    assert resent.status_code == 303 and resent.headers["Location"] == "/auth/oauth/email/code"
    assert len(delivered(app, "verification_code")) == 2
    second = last_code(app, "verification_code")
    assert waiting.post("/auth/oauth/email/code", data={"code": second}).status_code == 303
    assert signed_in_as(waiting) == "linus_torvalds"


def test_a_resend_inside_the_cooldown_is_refused_with_retry_after(app, waiting):
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    response = waiting.post("/auth/oauth/email/resend")
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 60
    assert "Please wait" in text(response) and 'id="code"' in response.text
    assert len(delivered(app, "verification_code")) == 1


def test_asking_again_inside_the_cooldown_keeps_the_code_already_sent(app, waiting):
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    again = waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    assert again.status_code == 303
    assert len(delivered(app, "verification_code")) == 1
    assert waiting.post("/auth/oauth/email/code", data={"code": last_code(app, "verification_code")}).status_code == 303


def test_a_code_proves_only_the_address_it_was_sent_to(app, waiting):
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    first = last_code(app, "verification_code")
    waiting.post("/auth/oauth/email", data={"email": "torvalds@example.com"})  # changed their mind
    second = last_code(app, "verification_code")
    assert waiting.post("/auth/oauth/email/code", data={"code": first}).status_code == 401
    assert waiting.post("/auth/oauth/email/code", data={"code": second}).status_code == 303
    with app.app_context():
        assert [u.email for u in users(db.session)] == ["torvalds@example.com"]


def test_an_unverified_provider_email_is_offered_and_proven_by_a_code(app, client, google, social):
    grace = Account("google-grace", email="Grace@Example.com", email_verified=False, name="Grace Hopper")
    start_waiting(social, grace, provider="google")

    page = client.get("/auth/oauth/email")
    assert page.status_code == 200 and "Google couldn't confirm your email address" in text(page)
    assert 'value="grace@example.com"' in page.text
    with app.app_context():
        assert users(db.session) == []
    client.post("/auth/oauth/email", data={"email": "grace@example.com"})
    client.post("/auth/oauth/email/code", data={"code": last_code(app, "verification_code")})
    with app.app_context():
        (user,) = users(db.session)
        assert user.email == "grace@example.com" and user.is_verified and user.username == "grace_hopper"


def test_a_deactivated_account_is_not_signed_in_even_with_the_right_code(app, waiting):
    with app.app_context():
        make_user(username="linus", email="linus@example.com", is_active=False)
    waiting.post("/auth/oauth/email", data={"email": "linus@example.com"})
    response = waiting.post("/auth/oauth/email/code", data={"code": last_code(app, "verification_code")})
    assert response.status_code == 403 and "This account has been deactivated" in text(response)
    with app.app_context():
        assert social_accounts(app) == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter your email address."),
        ("   ", "Enter your email address."),
        ("not-an-email", "Enter a valid email address"),
        ("a" * 250 + "@example.com", "too long"),
        ("admin\u200b@example.com", "Enter a valid email address"),
        ("<script>alert(1)</script>@example.com", "Enter a valid email address"),
        ("' OR 1=1 --", "Enter a valid email address"),
    ],
)
def test_a_bad_address_is_explained_next_to_the_field_and_sends_nothing(app, waiting, value, message):
    response = waiting.post("/auth/oauth/email", data={"email": value})

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'id="email-error"' in body and 'aria-invalid="true"' in body and message in text(response)
    assert "<script>alert(1)" not in body
    assert queued_jobs(app) == []
    with app.app_context():
        assert users(db.session) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/auth/oauth/email"),
        ("post", "/auth/oauth/email"),
        ("get", "/auth/oauth/email/code"),
        ("post", "/auth/oauth/email/code"),
        ("post", "/auth/oauth/email/resend"),
    ],
)
def test_without_a_pending_sign_in_each_step_says_to_start_again(app, client, method, path):
    response = getattr(client, method)(path, data={"email": "a@b.com", "code": "123456"})
    assert response.status_code == 400 and "start again" in text(response)
    assert queued_jobs(app) == []


def test_the_code_page_needs_an_address_first(app, waiting):
    response = waiting.get("/auth/oauth/email/code")
    assert response.status_code == 400 and "start again" in text(response)
    assert waiting.get("/auth/oauth/email").status_code == 200  # the sign-in itself still waits


def test_code_requests_for_one_address_are_limited(make_app, oidc_server):
    limited_app = make_app(RATELIMIT_ENABLED=True)
    oidc_server.configure_facebook(limited_app)
    flow = SocialFlow(limited_app.test_client())
    start_waiting(flow)
    statuses = [
        flow.client.post("/auth/oauth/email", data={"email": "linus@example.com"}).status_code for _ in range(4)
    ]
    assert statuses == [303, 303, 303, 429]


def test_wrong_codes_count_toward_the_failed_sign_in_limit_per_ip(make_app, oidc_server):
    limited_app = make_app(RATELIMIT_ENABLED=True)
    oidc_server.configure_facebook(limited_app)
    flow = SocialFlow(limited_app.test_client())
    start_waiting(flow)
    flow.client.post("/auth/oauth/email", data={"email": "linus@example.com"})
    statuses = [flow.client.post("/auth/oauth/email/code", data={"code": "000000"}).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]


def test_the_forms_need_their_csrf_token(make_app, oidc_server):
    app = make_app(WTF_CSRF_ENABLED=True)
    oidc_server.configure_facebook(app)
    flow = SocialFlow(app.test_client())
    start_waiting(flow)

    assert flow.client.post("/auth/oauth/email", data={"email": "linus@example.com"}).status_code == 400
    token = flow.client.get("/auth/oauth/email").get_data(as_text=True).split('name="csrf_token" value="')[1]
    token = token.split('"')[0]
    accepted = flow.client.post("/auth/oauth/email", data={"email": "linus@example.com", "csrf_token": token})
    assert accepted.status_code == 303
    code = last_code(app, "verification_code")
    assert flow.client.post("/auth/oauth/email/code", data={"code": code}).status_code == 400
    assert flow.client.post("/auth/oauth/email/code", data={"code": code, "csrf_token": token}).status_code == 303
