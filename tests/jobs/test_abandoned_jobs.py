"""A worker killed with -9 mid-broadcast: its batch is handed back and every recipient is notified once.

Real processes: `flask scheduler`, a `flask worker` killed with SIGKILL (its work horse
too) in the middle of a 500-user batch, and the replacement a supervisor would start.
"""

import time

import pytest
import sqlalchemy as sa
from rq.registry import StartedJobRegistry

from app.extensions import db
from app.models.notification import Notification
from app.models.outbox import OutboxMessage
from app.notifications.broadcast import BATCH_JOB, broadcast
from tests.notifications.helpers import bulk_users
from tests.support.faults import flask_command, process_env, wait_until

RECIPIENTS = 510  # two batches: 500 and 10


def notified(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Notification))


def batches_finished(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.func == BATCH_JOB, OutboxMessage.finished_at.is_not(None))
        )


def a_batch_started(redis_client) -> bool:
    return any(job_id for job_id in StartedJobRegistry("low", connection=redis_client).get_job_ids())


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_killed_mid_broadcast_has_its_batch_redelivered_within_90s_and_nobody_notified_twice(
    make_app, redis_server, app_processes
):
    app = make_app(REDIS_URL=redis_server.url())
    with app.app_context():
        bulk_users(RECIPIENTS)
        announcement = broadcast("Maintenance on Sunday", "Back in 10 minutes.", email=True)
        assert announcement.batch_count == 2
    env = process_env(app)
    app_processes("scheduler", flask_command("scheduler"), env)
    worker = app_processes("worker", flask_command("worker"), env)

    wait_until(lambda: a_batch_started(redis_server.client()), 60, interval=0.05, message="the first batch to start")
    time.sleep(0.1)  # inside the batch (it takes seconds): notifications being inserted, nothing committed yet
    worker.kill9()
    killed = time.monotonic()
    assert notified(app) < 500, "the kill came too late: the first batch had already committed"
    app_processes("worker-2", flask_command("worker"), env)  # what a supervisor does

    wait_until(lambda: notified(app) == RECIPIENTS, 90, interval=0.5, message="every recipient notified")
    print(f"every recipient notified {time.monotonic() - killed:.1f}s after the kill")

    with app.app_context():
        doubled = db.session.execute(
            sa.select(Notification.user_id).group_by(Notification.user_id).having(sa.func.count() > 1)
        ).all()
        assert doubled == []
        emails = db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.func == "jobs.email.send_email")
        )
        assert emails == RECIPIENTS  # one email queued per recipient: the killed attempt's rolled back
    wait_until(lambda: batches_finished(app) == 2, 10, message="both batch rows marked finished")


@pytest.mark.postgres
def test_a_job_session_left_idle_in_a_transaction_is_ended_by_postgres_and_its_locks_released(make_app):
    from app.models.catalog import PlatformFee
    from app.workers import limit_idle_transactions

    worker_app = make_app(JOB_IDLE_IN_TRANSACTION_SECONDS=1)
    limit_idle_transactions(worker_app)  # what `flask worker` and `flask scheduler` do at start
    with worker_app.app_context():
        vanished = db.engine.connect()  # a job's session whose process vanished mid-transaction
        vanished.execute(sa.select(PlatformFee).where(PlatformFee.id == 1).with_for_update())
        time.sleep(2)

    other = make_app()
    with other.app_context():
        db.session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        locked = db.session.execute(sa.select(PlatformFee).where(PlatformFee.id == 1).with_for_update()).scalar()
        assert locked is not None  # the row lock was released: no wait for a process that will never return
        db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="idle-in-transaction timeout"):
        vanished.execute(sa.text("SELECT 1"))
    vanished.close()
