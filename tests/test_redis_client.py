"""A hung Redis (accepts, never answers) costs one short timeout, then is skipped for a few seconds.

A private redis-server frozen with SIGSTOP; signups go through the HTTP test client with
rate limits on, so the limiter, the username cache and the outbox all meet the hung server.
"""

import logging
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.otp import UserOTP
from app.models.outbox import OutboxMessage
from app.models.user import User

PASSWORD = "analytical engine 1843"


def sign_up(client, n: int):
    return client.post(
        "/auth/signup", data={"username": f"reader{n}", "email": f"reader{n}@example.com", "password": PASSWORD}
    )


def users(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def verification_handed_off(app, email: str) -> bool:
    """The verification code job for `email` (it carries the code row's id) has been handed to RQ."""
    with app.app_context():
        otp_ids = {
            str(otp.id)
            for otp in db.session.scalars(
                sa.select(UserOTP).join(User, User.id == UserOTP.user_id).where(User.email == email)
            )
        }
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.func == "jobs.auth.send_code")).all()
        return any(row.args[0] in otp_ids and row.enqueued_at is not None for row in rows)


@pytest.fixture
def hung_app(make_app, redis_server):
    app = make_app(REDIS_URL=redis_server.url(), RATELIMIT_ENABLED=True, REDIS_CIRCUIT_SECONDS=2)
    app.test_client().get("/auth/signup")  # connections open, as in a running server
    yield app
    redis_server.resume()


@pytest.mark.slow
def test_with_redis_hung_signups_wait_one_short_timeout_then_skip_redis(hung_app, redis_server, caplog):
    client = hung_app.test_client()
    redis_server.pause()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="app.redis_client"):
        statuses = [sign_up(client, n).status_code for n in range(3)]
    elapsed = time.monotonic() - started

    assert statuses == [303, 303, 303] and users(hung_app) == 3
    trips = [r.message for r in caplog.records if r.name == "app.redis_client"]
    assert trips == ["Redis did not answer (Timeout reading from socket); skipping it for 2s"]
    # One REDIS_TIMEOUT (1 s) in all; before the circuit, each signup waited 3 × 2 s and more.
    assert elapsed < 6, f"three signups took {elapsed:.1f}s"


@pytest.mark.slow
def test_once_redis_answers_again_the_circuit_closes_and_jobs_go_straight_to_the_queue(hung_app, redis_server):
    client = hung_app.test_client()
    redis_server.pause()
    assert sign_up(client, 1).status_code == 303
    assert not verification_handed_off(hung_app, "reader1@example.com")  # left for the scheduler's relay

    redis_server.resume()
    time.sleep(2.5)  # the circuit's few seconds
    assert sign_up(client, 2).status_code == 303
    assert verification_handed_off(hung_app, "reader2@example.com")
