import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.mail.services import queue_email
from app.models.outbox import OutboxMessage
from app.outbox import get_queue
from app.periodic import enqueue_due
from app.scheduler import LEADER_KEY, Scheduler
from app.workers import PERIODIC, Periodic

CONTEXT = {"title": "Hello", "name": "Ada", "body": "Body", "link": ""}


def test_scheduler_relays_rows_left_pending(app, smtp_sink, run_jobs):
    with app.app_context():
        queue_email("ada@example.test", "announcement", CONTEXT)
        # Simulate a crash between commit and relay: the row exists, nothing reached Redis.
        db.session.info.pop("outbox_pending")
        db.session.commit()
        assert db.session.scalar(sa.select(OutboxMessage.enqueued_at)) is None

    result = Scheduler(app, periodic=[]).run_once()
    assert result == {"leader": True, "relayed": 1, "enqueued": []}
    assert run_jobs() == 1
    assert len(smtp_sink.wait_for(1)) == 1


def test_only_one_scheduler_leads_at_a_time(app):
    first, second = Scheduler(app, periodic=[]), Scheduler(app, periodic=[])
    second.name = "other-host:1"
    assert first.run_once()["leader"] is True
    assert second.run_once()["leader"] is False
    app.extensions["redis"].delete(LEADER_KEY)
    assert second.run_once()["leader"] is True


def test_scheduler_enqueues_due_periodic_jobs(app, run_jobs):
    scheduler = Scheduler(app, periodic=[Periodic("jobs.maintenance.ping", queue="low", interval=3600)])
    assert scheduler.run_once()["enqueued"] == ["jobs.maintenance.ping"]
    assert scheduler.run_once()["enqueued"] == []  # not due again for an hour
    assert run_jobs(("low",)) == 1


def test_worker_command_rejects_unknown_queues(runner):
    result = runner.invoke(args=["worker", "urgent"])
    assert result.exit_code != 0
    assert "unknown queue" in result.output


def test_worker_command_refuses_an_abandoned_job_timeout_a_late_heartbeat_would_trip(app, runner):
    app.config.update(JOB_HEARTBEAT_SECONDS=10, JOB_ABANDONED_SECONDS=15)
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "JOB_ABANDONED_SECONDS must be at least twice JOB_HEARTBEAT_SECONDS" in result.output


def test_worker_command_runs_queued_jobs_in_burst_mode(app, runner, smtp_sink):
    with app.app_context():
        queue_email("ada@example.test", "announcement", CONTEXT)
        db.session.commit()
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert "queues high, default, low" in result.output
    assert len(smtp_sink.wait_for(1)) == 1


def test_outbox_relay_command_reports_what_it_did(app, runner):
    result = runner.invoke(args=["outbox", "relay"])
    assert result.exit_code == 0
    assert "relayed 0 job(s)" in result.output


def test_flask_scheduler_lists_its_periodic_jobs_and_relays_the_outbox(app, runner, smtp_sink, run_jobs):
    with app.app_context():
        queue_email("ada@example.test", "announcement", CONTEXT)
        db.session.info.pop("outbox_pending")  # as if the process died right after the commit
        db.session.commit()
    result = runner.invoke(args=["scheduler", "--loops", "1"])
    assert result.exit_code == 0, result.output
    assert "periodic jobs; relaying the outbox" in result.output
    assert run_jobs() >= 1
    assert len(smtp_sink.wait_for(1)) == 1


def test_the_scheduler_releases_a_retry_once_it_is_due(app, smtp_sink, run_jobs):
    app.config["JOB_RETRY_INTERVALS"] = [1, 1, 1]
    smtp_sink.stop()
    with app.app_context():
        queue_email("ada@example.test", "announcement", CONTEXT)
        db.session.commit()
    assert run_jobs() == 1  # SMTP refuses: RQ schedules the retry
    smtp_sink.start()
    assert run_jobs() == 0  # not due yet, and nobody else releases it
    time.sleep(1.5)

    Scheduler(app, periodic=[]).run_once()
    assert run_jobs() == 1
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_restarted_scheduler_keeps_the_schedule_and_runs_no_interval_job_again(app, runner):
    def queued() -> list[str]:
        return sorted(job.func_name for job in get_queue("low", app.extensions["redis"]).get_jobs())

    assert runner.invoke(args=["scheduler", "--loops", "1"]).exit_code == 0
    first = queued()
    assert first == sorted(p.func for p in PERIODIC if p.interval)  # first start ever: each interval job once

    assert runner.invoke(args=["scheduler", "--loops", "1"]).exit_code == 0  # a restart, or a standby taking over
    assert queued() == first


def test_a_cron_job_missed_while_no_scheduler_ran_runs_once_when_one_is_back(app, session):
    daily = [Periodic("jobs.maintenance.ping", cron="17 3 * * *")]
    first_start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert enqueue_due(daily, now=first_start) == ([], datetime(2026, 12, 2, 3, 17, tzinfo=UTC))

    three_days_later = first_start + timedelta(days=3)  # three 03:17s passed with no scheduler running
    assert enqueue_due(daily, now=three_days_later)[0] == ["jobs.maintenance.ping"]
    assert enqueue_due(daily, now=three_days_later + timedelta(minutes=1))[0] == []
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_a_scheduler_that_cannot_reach_the_database_still_releases_retries(make_app, app, smtp_sink, run_jobs):
    app.config["JOB_RETRY_INTERVALS"] = [1, 1, 1]
    smtp_sink.stop()
    with app.app_context():
        queue_email("ada@example.test", "announcement", CONTEXT)
        db.session.commit()
    assert run_jobs() == 1
    smtp_sink.start()
    time.sleep(1.5)

    no_database = make_app(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}},
    )
    assert Scheduler(no_database, periodic=PERIODIC).run_once()["leader"] is True  # relay and schedule fail, logged
    assert run_jobs() == 1
    assert len(smtp_sink.wait_for(1)) == 1
