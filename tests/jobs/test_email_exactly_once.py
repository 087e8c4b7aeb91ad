"""Exactly-once email under real faults: the database or the SMTP connection dies mid-delivery.

The Message-ID is named after the outbox message and recorded ("sending") before the SMTP
call, so whatever a retry does, the recipient sees one message: it arrives once, or twice
with one Message-ID (which mail clients fold into one).
"""

import threading
import time

import pytest
import sqlalchemy as sa
from rq.registry import ScheduledJobRegistry

from app.extensions import db
from app.mail.services import deliver, queue_email
from app.models.mail import SentEmail
from app.models.outbox import OutboxMessage
from app.outbox import get_queue
from tests.auth.conftest import code_in
from tests.support.faults import TcpProxy, proxy_in_front_of
from tests.support.jobs import JobRunner
from tests.support.users import make_user

ANNOUNCEMENT = {
    "title": "Maintenance on Sunday",
    "name": "Ada",
    "body": "We upgrade the database.",
    "link": "http://example.test/status",
}


def queue_announcement(app) -> str:
    with app.app_context():
        queue_email("ada@example.test", "announcement", ANNOUNCEMENT)
        db.session.commit()
        return db.session.scalars(sa.select(OutboxMessage)).one().job_id


def send_record(app, key: str) -> SentEmail:
    with app.app_context():
        record = db.session.get(SentEmail, key)
        db.session.expunge(record)
        return record


def waiting_for_retry(app, job_id: str, queue: str) -> bool:
    return job_id in ScheduledJobRegistry(queue=get_queue(queue, app.extensions["redis"])).get_job_ids()


def once(hook):
    """`hook` on the first message only."""
    calls = []

    def run(message):
        calls.append(message)
        return hook(message) if len(calls) == 1 else None

    return run


@pytest.fixture
def smtp_proxy(app, smtp_sink):
    """The app talks to the SMTP server through a proxy the test can cut."""
    proxy = TcpProxy("127.0.0.1", smtp_sink.port).start()
    app.config["MAIL_PORT"] = proxy.port
    yield proxy
    proxy.stop()


@pytest.mark.postgres
def test_the_database_dropping_after_the_smtp_server_accepted_delivers_the_code_once(app, make_app, smtp_sink):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db_proxy = proxy_in_front_of(url, 5432)
    try:
        flaky = make_app(
            SQLALCHEMY_DATABASE_URI=db_proxy.url_for(url),
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=smtp_sink.port,
            MAIL_TIMEOUT=3,
        )
        with app.app_context():
            make_user(username="ada", email="ada@example.com")
        browser = flaky.test_client()
        assert browser.post("/auth/login/code", data={"email": "ada@example.com"}).status_code == 303
        # The server keeps the message and, before it answers 250, the database goes away.
        smtp_sink.after_store = once(lambda message: db_proxy.refuse())
        run_jobs = JobRunner(flaky)

        assert run_jobs() == 1  # sent, but "sent" could not be recorded: the job fails
        assert len(smtp_sink.messages) == 1 and waiting_for_retry(flaky, "outbox-1", "high")

        db_proxy.accept()
        assert run_jobs(include_scheduled=True) == 1  # the retry records it without sending again
        assert run_jobs(include_scheduled=True) == 0
        time.sleep(0.5)  # anything sent again would have arrived by now
        [message] = smtp_sink.messages
        record = send_record(app, "outbox-1")
        assert record.status == "sent" and record.message_id == message["Message-ID"]
        assert message["Message-ID"].startswith("<outbox-1.login_code.")
        # And the code in it signs Ada in.
        entered = browser.post("/auth/login/code/enter", data={"code": code_in(smtp_sink.text(message))})
        assert entered.status_code == 303
    finally:
        db_proxy.stop()


def test_a_connection_lost_after_the_server_kept_the_message_resends_it_with_the_same_message_id(
    app, smtp_sink, smtp_proxy, run_jobs
):
    smtp_sink.after_store = once(lambda message: smtp_proxy.cut())  # kept, but the 250 never reaches us
    job_id = queue_announcement(app)

    assert run_jobs() == 1 and waiting_for_retry(app, job_id, "default")
    assert run_jobs(include_scheduled=True) == 1

    first, second = smtp_sink.wait_for(2)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<{job_id}.announcement.")
    assert first["Message-ID"].endswith("@multiproduct.local>")
    assert send_record(app, job_id).status == "sent"
    assert run_jobs(include_scheduled=True) == 0


def test_an_smtp_server_going_away_mid_message_gets_it_once_on_the_retry(app, smtp_sink, smtp_proxy, run_jobs):
    def drop_connection(message):
        smtp_proxy.cut()
        return False  # not kept

    smtp_sink.before_store = once(drop_connection)
    job_id = queue_announcement(app)

    assert run_jobs() == 1 and smtp_sink.messages == [] and waiting_for_retry(app, job_id, "default")
    assert run_jobs(include_scheduled=True) == 1

    [message] = smtp_sink.wait_for(1)
    assert message["Subject"] == "Maintenance on Sunday"
    assert send_record(app, job_id).message_id == message["Message-ID"]
    time.sleep(0.5)
    assert len(smtp_sink.messages) == 1


def test_the_sending_record_and_its_message_id_are_committed_before_the_smtp_call(app, smtp_sink, run_jobs):
    seen = {}

    def look_at_the_database(message):
        with app.app_context():  # another connection, while the worker waits for the server's answer
            record = db.session.scalar(sa.select(SentEmail))
            seen.update(status=record.status, message_id=record.message_id, header=message["Message-ID"])
            db.session.remove()

    smtp_sink.after_store = look_at_the_database
    job_id = queue_announcement(app)
    assert run_jobs() == 1
    assert seen == {"status": "sending", "message_id": seen["header"], "header": seen["header"]}
    assert seen["header"].startswith(f"<{job_id}.announcement.")
    assert send_record(app, job_id).status == "sent"


@pytest.mark.postgres
def test_two_workers_delivering_the_same_message_at_once_send_it_once(app, smtp_sink):
    smtp_sink.before_store = lambda message: time.sleep(0.5)  # a slow server: the first holds its lock
    message = {"to": "ada@example.test", "template": "announcement", "context": ANNOUNCEMENT}
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def deliver_it():
        with app.app_context():
            barrier.wait()
            results.append(deliver(message, "outbox-77"))
            db.session.remove()

    threads = [threading.Thread(target=deliver_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, True]
    assert len(smtp_sink.wait_for(1)) == 1
