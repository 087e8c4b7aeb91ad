"""Redis without persistence loses what it holds; the outbox does not: every email still arrives, once.

Real processes (`flask worker`, `flask scheduler`) on a private redis-server that the
test flushes, sending to a real SMTP server.
"""

import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.mail.services import queue_email
from app.models.outbox import OutboxMessage
from app.outbox import get_queue
from tests.support.faults import flask_command, process_env, wait_until

ADDRESSES = [f"reader{n}@example.test" for n in range(5)]
CONTEXT = {"title": "Maintenance on Sunday", "body": "Back in 10 minutes.", "link": ""}


def rows(app) -> list[OutboxMessage]:
    """The email rows (the scheduler adds its periodic jobs' own)."""
    with app.app_context():
        found = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.func == "jobs.email.send_email").order_by(OutboxMessage.id)
        ).all()
        db.session.expunge_all()
        return found


@pytest.mark.slow
def test_emails_handed_to_redis_then_flushed_before_the_worker_ran_still_arrive_once_each(
    make_app, redis_server, smtp_sink, app_processes
):
    app = make_app(REDIS_URL=redis_server.url(), MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_sink.port)
    with app.app_context():
        for address in ADDRESSES:
            queue_email(address, "announcement", {**CONTEXT, "name": address.split("@")[0]})
        db.session.commit()
    assert all(row.enqueued_at is not None for row in rows(app))  # handed off …
    assert len(get_queue("default", redis_server.client())) == 5

    redis_server.flushall()  # … and lost, as a restart without persistence loses them

    env = process_env(app, OUTBOX_VISIBILITY_SECONDS="3", OUTBOX_RELAY_SECONDS="1")
    app_processes("scheduler", flask_command("scheduler"), env)
    worker = app_processes("worker", flask_command("worker"), env)

    smtp_sink.wait_for(5, timeout=90)
    wait_until(lambda: all(row.finished_at for row in rows(app)), 30, message="every row finished")
    time.sleep(3 * 3)  # three more visibility timeouts: a finished row is never handed over again
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == ADDRESSES, worker.output()[-3000:]
    assert [row.deliveries for row in rows(app)] == [2] * 5
