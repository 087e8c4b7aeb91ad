"""A retry that falls due while Redis is down runs soon after Redis is back.

Real `flask worker` and `flask scheduler` processes reach a private redis-server through
a TCP proxy that refuses connections for 30 seconds (Redis itself keeps its data).
"""

import time

import pytest
from rq.job import Job

from app.extensions import db
from app.mail.services import queue_email
from app.models.outbox import OutboxMessage
from tests.support.faults import TcpProxy, flask_command, process_env, wait_until
from tests.support.mail import SmtpSink

RETRY_AFTER = 20  # seconds: the first retry falls due in the middle of the outage
OUTAGE = 30


@pytest.mark.slow
def test_a_job_that_failed_before_a_30_second_redis_outage_is_retried_within_its_interval_plus_a_minute(
    make_app, redis_server, app_processes
):
    proxy = TcpProxy("127.0.0.1", redis_server.port).start()
    sink = SmtpSink()  # not started yet: the first attempt finds SMTP refusing
    app = make_app(
        REDIS_URL=proxy.url_for(redis_server.url()),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=sink.port,
        JOB_RETRY_INTERVALS=[RETRY_AFTER, 60, 240],
    )  # the enqueuer decides a job's retries
    env = process_env(app)
    worker = app_processes("worker", flask_command("worker"), env)
    scheduler = app_processes("scheduler", flask_command("scheduler"), env)
    try:
        with app.app_context():
            queue_email("ada@example.test", "announcement", {"title": "Hi", "name": "Ada", "body": "B", "link": ""})
            db.session.commit()
            job_id = db.session.query(OutboxMessage).one().job_id
        job = Job(job_id, connection=redis_server.client())
        wait_until(lambda: job.get_status() == "scheduled", 60, interval=0.2, message="the first attempt to fail")

        proxy.refuse()
        sink.start()  # SMTP is back before Redis: only Redis stands between the retry and the inbox
        time.sleep(OUTAGE)
        proxy.accept()
        back = time.monotonic()

        sink.wait_for(1, timeout=RETRY_AFTER + 60)
        print(f"retried {time.monotonic() - back:.1f}s after Redis came back")
        assert worker.alive and scheduler.alive
        wait_until(lambda: job.get_status() == "finished", 10, message="the job to finish")
    finally:
        sink.stop()
        proxy.stop()
