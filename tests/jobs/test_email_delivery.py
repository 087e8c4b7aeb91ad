"""Delivery you can trust: SMTP outages are retried with exponential backoff, then parked
for an admin; whatever happens, each email arrives exactly once, and sending reads nothing
from the database but its own send record."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from app.extensions import db
from app.models.mail import SentEmail
from app.models.outbox import OutboxMessage
from app.models.user import User
from app.notifications.services import notify
from app.outbox import get_queue
from config import Config, exponential_backoff
from tests.support.users import make_user


def queue_receipt(app) -> str:
    """A payment-receipt notification with its email, committed; returns the RQ job id."""
    with app.app_context():
        user = make_user(username="ada", first_name="Ada")
        notify(
            user.id,
            "payment_receipt",
            "Payment received",
            "Invoice INV-2026-000123 is paid.",
            link="/invoices/3f2a",
            email=True,
            email_context={
                "invoice_number": "INV-2026-000123",
                "total": "$53.90",
                "paid_on": "2026-11-22T10:00:00Z",
                "invoice_url": "https://shop.example.com/invoices/3f2a",
                "lines": [
                    {"description": "Pipeline CRM · Team (monthly)", "amount": "$49.00"},
                    {"description": "Platform fee (10%)", "amount": "$4.90"},
                ],
            },
        )
        db.session.commit()
        return db.session.scalars(sa.select(OutboxMessage)).one().job_id


def sent_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SentEmail).where(SentEmail.status == "sent"))


def fail_and_check_retry(app, run_jobs, job_id: str, interval: int) -> None:
    """Run the job (SMTP is down) and check its retry is due `interval` seconds after the failure."""
    before = datetime.now(UTC)
    assert run_jobs() == 1
    after = datetime.now(UTC)
    registry = ScheduledJobRegistry(queue=get_queue("default", app.extensions["redis"]))
    assert job_id in registry.get_job_ids(), "the failed job should wait for its retry"
    due = registry.get_scheduled_time(job_id)  # whole seconds
    assert before + timedelta(seconds=interval - 1) <= due <= after + timedelta(seconds=interval)


def test_retry_intervals_grow_exponentially():
    intervals = Config.JOB_RETRY_INTERVALS
    assert Config.JOB_RETRIES == len(intervals) == 3
    assert intervals == [15, 60, 240]
    assert intervals[1] / intervals[0] == intervals[2] / intervals[1] == 4
    assert exponential_backoff(10, 3, 4) == [10, 30, 90, 270]


def test_an_email_sent_while_smtp_is_down_is_retried_and_arrives_exactly_once(app, smtp_sink, run_jobs):
    smtp_sink.stop()
    job_id = queue_receipt(app)

    fail_and_check_retry(app, run_jobs, job_id, app.config["JOB_RETRY_INTERVALS"][0])  # connection refused
    assert smtp_sink.messages == [] and sent_count(app) == 0

    smtp_sink.start()
    assert run_jobs(include_scheduled=True) == 1
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Receipt for invoice INV-2026-000123"
    assert run_jobs(include_scheduled=True) == 0
    assert len(smtp_sink.messages) == 1 and sent_count(app) == 1


def test_after_three_failed_retries_the_job_waits_for_an_admin_and_a_requeue_delivers_once(app, smtp_sink, run_jobs):
    smtp_sink.stop()
    job_id = queue_receipt(app)
    queue = get_queue("default", app.extensions["redis"])

    for interval in app.config["JOB_RETRY_INTERVALS"]:  # each retry waits longer: 15 s, 1 min, 4 min
        fail_and_check_retry(app, run_jobs, job_id, interval)
        run_jobs.release_scheduled()
    assert run_jobs() == 1  # the third retry fails too: no more retries

    failed = FailedJobRegistry(queue=queue)
    assert failed.get_job_ids() == [job_id]
    assert "ConnectionRefusedError" in queue.fetch_job(job_id).latest_result().exc_string
    assert smtp_sink.messages == [] and sent_count(app) == 0

    smtp_sink.start()
    failed.requeue(job_id)  # what the admin's "retry" button does
    assert run_jobs() == 1
    assert len(smtp_sink.wait_for(1)) == 1 and sent_count(app) == 1
    assert failed.get_job_ids() == []


def test_delivering_reads_nothing_but_its_own_send_record_and_the_recipients_zone(
    app, smtp_sink, run_jobs, count_queries
):
    queue_receipt(app)
    with app.app_context():
        # The payload carries everything but the recipient's time zone: even with the user gone,
        # the email goes out as queued (its times in UTC).
        db.session.execute(sa.delete(User))
        db.session.commit()

    with count_queries() as queries:
        assert run_jobs() == 1

    [message] = smtp_sink.wait_for(1)
    text = smtp_sink.text(message)
    assert "Hi ada," in text and "$53.90" in text and "https://shop.example.com/invoices/3f2a" in text
    # Its send record, and the outbox row marked finished once the job has succeeded.
    assert "22 Nov 2026" in text
    assert queries.count <= 6, queries.statements
    for statement in queries.statements:
        assert (
            "sent_email" in statement
            or " ".join(statement.split()).startswith("SELECT users.timezone FROM users WHERE users.id =")
            or "pg_advisory_xact_lock" in statement
            or statement.startswith("UPDATE outbox_message SET finished_at")
        ), statement


@pytest.mark.parametrize("kind", ["announcement", "password_reset"])
def test_each_email_kind_goes_on_its_queue(app, session, kind):
    from app.mail.kinds import SAMPLES
    from app.mail.services import queue_email

    queue_email("ada@example.test", kind, SAMPLES[kind])
    session.commit()
    assert session.scalar(sa.select(OutboxMessage.queue)) == ("high" if kind == "password_reset" else "default")
