"""An outbox row is done only when its job has finished; what Redis loses is handed over again.

These run a real RQ worker (tests/support/jobs.py) on Redis; the fault tests with a
flushed Redis server and real worker processes are in test_lost_jobs.py.
"""

import sqlalchemy as sa
from rq.job import Job

from app.extensions import db
from app.mail.services import queue_email
from app.models.outbox import OutboxMessage
from app.outbox import relay_pending

CONTEXT = {"title": "Hello", "name": "Ada", "body": "Body", "link": ""}


def the_row(app) -> OutboxMessage:
    with app.app_context():
        row = db.session.scalars(sa.select(OutboxMessage)).one()
        db.session.expunge(row)
        return row


def queue_one(app) -> None:
    with app.app_context():
        queue_email("ada@example.test", "announcement", CONTEXT)
        db.session.commit()


def test_a_row_handed_to_rq_is_in_flight_until_its_job_has_finished(app, smtp_sink, run_jobs):
    queue_one(app)
    row = the_row(app)
    assert row.enqueued_at is not None and row.deliveries == 1
    assert row.finished_at is None and row.failed_at is None

    assert run_jobs() == 1
    row = the_row(app)
    assert row.finished_at is not None and row.failed_at is None
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_failing_job_stays_in_flight_while_retried_and_is_marked_failed_after_its_last_retry(
    app, smtp_sink, run_jobs
):
    smtp_sink.stop()
    queue_one(app)
    for _ in app.config["JOB_RETRY_INTERVALS"]:
        assert run_jobs() == 1
        assert the_row(app).failed_at is None  # RQ retries it: still in flight
        run_jobs.release_scheduled()
    assert run_jobs() == 1  # the last retry fails: parked in RQ's failed registry, and the row with it

    row = the_row(app)
    assert row.failed_at is not None and row.finished_at is None
    assert "ConnectionRefusedError" in row.last_error
    app.config["OUTBOX_VISIBILITY_SECONDS"] = 0
    with app.app_context():
        assert relay_pending() == 0  # a parked job is an admin's to retry, not the relay's


def test_an_admin_retry_of_a_parked_job_marks_its_row_finished(app, smtp_sink, run_jobs):
    from rq.registry import FailedJobRegistry

    from app.outbox import get_queue

    smtp_sink.stop()
    queue_one(app)
    for _ in app.config["JOB_RETRY_INTERVALS"]:
        run_jobs()
        run_jobs.release_scheduled()
    run_jobs()
    smtp_sink.start()
    FailedJobRegistry(queue=get_queue("default", app.extensions["redis"])).requeue(the_row(app).job_id)
    assert run_jobs() == 1
    row = the_row(app)
    assert row.finished_at is not None and row.failed_at is None
    assert len(smtp_sink.wait_for(1)) == 1


def test_the_relay_hands_over_again_a_job_redis_lost_and_it_is_delivered_once(app, smtp_sink, run_jobs):
    queue_one(app)
    job_id = the_row(app).job_id
    app.extensions["redis"].flushdb()  # as a restart without persistence would
    app.config["OUTBOX_VISIBILITY_SECONDS"] = 0

    with app.app_context():
        assert relay_pending() == 1
        assert relay_pending() == 0  # queued again, once
    assert run_jobs() == 1
    assert len(smtp_sink.wait_for(1)) == 1
    row = the_row(app)
    assert row.deliveries == 2 and row.finished_at is not None
    assert Job.fetch(job_id, connection=app.extensions["redis"]).get_status() == "finished"


def test_the_relay_leaves_a_job_rq_still_has_queued(app, run_jobs):
    queue_one(app)
    app.config["OUTBOX_VISIBILITY_SECONDS"] = 0
    with app.app_context():
        assert relay_pending() == 0
    assert run_jobs.depth("default") == 1
    assert the_row(app).deliveries == 1


def test_the_relay_settles_a_row_whose_finish_the_worker_could_not_record(app, smtp_sink, run_jobs):
    queue_one(app)
    assert run_jobs() == 1
    with app.app_context():  # as if the database was unreachable when the job finished
        db.session.execute(sa.update(OutboxMessage).values(finished_at=None))
        db.session.commit()
    app.config["OUTBOX_VISIBILITY_SECONDS"] = 0

    with app.app_context():
        assert relay_pending() == 0  # RQ says finished: nothing to redeliver
    assert the_row(app).finished_at is not None
    assert run_jobs() == 0 and len(smtp_sink.messages) == 1


def test_rows_in_flight_are_not_looked_up_before_the_visibility_timeout(app, run_jobs):
    queue_one(app)
    app.extensions["redis"].flushdb()
    with app.app_context():
        assert relay_pending() == 0  # handed off a moment ago: give the worker its time
    assert the_row(app).deliveries == 1


def test_the_embedded_mode_runs_the_job_in_process_and_marks_its_row_finished(make_app):
    import fakeredis

    embedded = make_app(
        REDIS_URL=None,
        JOBS_INLINE=True,
        FAKEREDIS_SERVER=fakeredis.FakeServer(),
        RATELIMIT_STORAGE_URI="memory://",
        DEV_MAIL_OUTBOX=True,
    )
    queue_one(embedded)
    row = the_row(embedded)
    assert row.enqueued_at is not None and row.finished_at is not None
    with embedded.app_context():
        from app.models.mail import DevMail

        assert db.session.scalar(sa.select(sa.func.count()).select_from(DevMail)) == 1
