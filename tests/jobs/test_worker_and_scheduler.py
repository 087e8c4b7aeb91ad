import sqlalchemy as sa

from app.extensions import db
from app.mail.services import queue_email
from app.models.outbox import OutboxMessage
from app.scheduler import LEADER_KEY, Scheduler
from app.workers import Periodic

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
