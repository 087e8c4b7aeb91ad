import sqlalchemy as sa

from app.extensions import db
from app.mail.services import queue_email
from app.models.mail import SentEmail
from app.models.outbox import OutboxMessage
from app.outbox import enqueue, relay_pending

ANNOUNCEMENT = {
    "title": "Maintenance on Sunday",
    "name": "Ada",
    "body": "We upgrade the database.\n\nBack in 10 minutes.",
    "link": "http://example.test/status",
}


def test_email_queued_in_a_committed_transaction_is_delivered_by_a_worker(app, session, smtp_sink, run_jobs):
    queue_email("ada@example.test", "announcement", ANNOUNCEMENT)
    session.commit()

    assert run_jobs() == 1
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "ada@example.test"
    assert message["Subject"] == "Maintenance on Sunday"
    assert "Hi Ada," in smtp_sink.text(message)
    assert ">Maintenance on Sunday</h1>" in smtp_sink.html(message)  # the h1 carries inlined styles
    assert session.scalar(sa.select(sa.func.count()).select_from(SentEmail)) == 1


def test_email_queued_in_a_rolled_back_transaction_is_never_sent(app, session, smtp_sink, run_jobs):
    queue_email("ada@example.test", "announcement", ANNOUNCEMENT)
    session.rollback()

    assert run_jobs() == 0
    assert smtp_sink.messages == []
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_a_redelivered_email_job_does_not_send_twice(app, session, smtp_sink, run_jobs):
    from jobs.email import send_email

    message = {"to": "ada@example.test", "template": "announcement", "context": ANNOUNCEMENT}
    assert send_email(message, idempotency_key="outbox-77") is True
    assert send_email(message, idempotency_key="outbox-77") is False
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_missing_template_variable_fails_when_queuing_not_in_the_inbox(app, session):
    import jinja2
    import pytest

    with pytest.raises(jinja2.UndefinedError):
        queue_email("ada@example.test", "announcement", {"title": "No name"})


def test_enqueue_accepts_only_known_queues_and_job_paths(app, session):
    import pytest

    with pytest.raises(ValueError):
        enqueue("jobs.email.send_email", queue="urgent")
    with pytest.raises(ValueError):
        enqueue("os.system", "rm -rf /")


def test_with_redis_down_a_request_still_succeeds_and_the_job_is_relayed_once_redis_is_back(
    make_app, app, smtp_sink, run_jobs
):
    broken = make_app(
        REDIS_URL="redis://127.0.0.1:1/0", FAKEREDIS_SERVER=None, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_sink.port
    )

    @broken.post("/_signup")
    def signup():
        queue_email("grace@example.test", "announcement", {**ANNOUNCEMENT, "name": "Grace"})
        db.session.commit()
        return "ok"

    response = broken.test_client().post("/_signup")
    assert response.status_code == 200

    with app.app_context():
        [row] = db.session.scalars(sa.select(OutboxMessage)).all()
        assert row.enqueued_at is None and row.attempts == 1
        assert "Error" in (row.last_error or "") or row.last_error

        # Redis is back: the scheduler's relay (and a second, racing relay) hand it over once.
        assert relay_pending() == 1
        assert relay_pending() == 0
    assert run_jobs() == 1
    smtp_sink.wait_for(1)
    assert len(smtp_sink.messages) == 1


def test_relaying_the_same_row_twice_queues_one_job(app, session, run_jobs, smtp_sink):
    queue_email("ada@example.test", "announcement", ANNOUNCEMENT)
    session.commit()  # relayed after commit
    row = session.scalars(sa.select(OutboxMessage)).one()
    session.execute(sa.update(OutboxMessage).values(enqueued_at=None))  # as if the mark was lost
    session.commit()
    relay_pending([row.id])
    assert run_jobs.depth("default") == 1
    assert run_jobs() == 1
    assert len(smtp_sink.wait_for(1)) == 1
