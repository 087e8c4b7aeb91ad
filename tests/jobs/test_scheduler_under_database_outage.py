"""`flask scheduler` outlives a database outage: it logs, backs off and carries on.

A real `flask scheduler` process reaches Postgres through a TCP proxy that refuses
connections for 20 seconds; the test itself talks to Postgres directly.
"""

import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.mail.services import queue_email
from app.models.outbox import OutboxMessage
from app.scheduler import HEARTBEAT_KEY
from tests.conftest import SERVICES
from tests.support.faults import flask_command, process_env, proxy_in_front_of, wait_until


def pending_left_behind(app) -> int:
    """A committed email row the request never handed to RQ (as if the web process died after the commit)."""
    with app.app_context():
        queue_email("ada@example.test", "announcement", {"title": "Hi", "name": "Ada", "body": "B", "link": ""})
        db.session.info.pop("outbox_pending")
        db.session.commit()
        return db.session.scalars(
            sa.select(OutboxMessage.id).where(OutboxMessage.func == "jobs.email.send_email")
        ).one()


def handed_off(app, row_id: int) -> bool:
    with app.app_context():
        return db.session.get(OutboxMessage, row_id).enqueued_at is not None


@pytest.mark.postgres
@pytest.mark.slow
def test_the_scheduler_outlives_postgres_refusing_connections_and_relays_on_its_next_tick(
    make_app, redis_server, app_processes
):
    proxy = proxy_in_front_of(SERVICES.database_url, 5432)
    try:
        app = make_app(REDIS_URL=redis_server.url())
        env = process_env(
            app, TEST_DATABASE_URL=proxy.url_for(app.config["SQLALCHEMY_DATABASE_URI"]), OUTBOX_RELAY_SECONDS="1"
        )
        scheduler = app_processes("scheduler", flask_command("scheduler"), env)
        wait_until(lambda: redis_server.client().exists(HEARTBEAT_KEY), 60, message="the scheduler's first tick")

        proxy.refuse()
        row_id = pending_left_behind(app)
        time.sleep(20)
        assert scheduler.alive, scheduler.output()[-3000:]
        assert "outbox relay failed (OperationalError" in scheduler.output()
        assert redis_server.client().exists(HEARTBEAT_KEY)  # it kept ticking
        assert not handed_off(app, row_id)

        proxy.accept()
        wait_until(lambda: handed_off(app, row_id), 30, message="the relay to run again")
        assert scheduler.alive
    finally:
        proxy.stop()
