"""`flask notify broadcast|purge`, and the daily job that deletes old read notifications."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from croniter import croniter

from app.extensions import db
from app.models.base import utcnow
from app.models.notification import Announcement, Notification
from app.notifications.services import purge_read
from app.outbox import enqueue
from app.workers import PERIODIC
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory
from tests.notifications.helpers import add_notifications, count_notifications
from tests.support.users import make_user


def test_broadcast_to_all_prints_what_it_did(app, runner, run_jobs):
    with app.app_context():
        make_user(username="ada")
        make_user(username="grace")
    result = runner.invoke(
        args=[
            "notify",
            "broadcast",
            "--all",
            "--title",
            "Maintenance on Sunday",
            "--body",
            "Back in 10 minutes.",
            "--link",
            "/status",
            "--no-email",
        ]
    )
    assert result.exit_code == 0, result.output
    assert (
        '"Maintenance on Sunday" to 2 recipient(s) (all active users), in 1 job(s) of up to 500; '
        "email off." in result.output
    )
    run_jobs()
    with app.app_context():
        assert count_notifications(kind="announcement") == 2
        assert str(db.session.scalar(sa.select(Announcement.id))) in result.output


def test_broadcast_to_a_product_reaches_its_subscribers(app, runner, run_jobs, smtp_sink):
    with app.app_context():
        plan = PlanFactory(product=ProductFactory(slug="pipeline-crm", name="Pipeline CRM"))
        subscriber = make_user(username="ada")
        make_user(username="grace")
        SubscriptionFactory(user_id=subscriber.id, plan=plan, status="trial")
    result = runner.invoke(
        args=[
            "notify",
            "broadcast",
            "--product",
            "Pipeline-CRM",
            "--title",
            "CRM 2.0",
            "--body",
            "Pipelines got faster.",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "to 1 recipient(s) (subscribers of Pipeline CRM)" in result.output and "email on" in result.output
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "ada@example.test" and message["Subject"] == "CRM 2.0"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--title", "T", "--body", "B"], 2, "Choose the audience"),
        (["--all", "--product", "pipeline-crm", "--title", "T", "--body", "B"], 2, "Choose the audience"),
        (["--product", "no-such-thing", "--title", "T", "--body", "B"], 2, "no product with the slug 'no-such-thing'"),
        (["--all", "--body", "B"], 2, "Missing option '--title'"),
        (["--all", "--title", "  ", "--body", "B"], 1, "Give the announcement a title."),
        (["--all", "--title", "T" * 201, "--body", "B"], 1, "200 characters or fewer"),
        (["--all", "--title", "T", "--body", "B", "--link", "javascript:alert(1)"], 1, "The link must be"),
    ],
)
def test_bad_broadcast_input_exits_non_zero_and_sends_nothing(app, runner, args, code, message):
    with app.app_context():
        PlanFactory(product=ProductFactory(slug="pipeline-crm", name="Pipeline CRM"))
        make_user(username="ada")
    result = runner.invoke(args=["notify", "broadcast", *args])
    assert result.exit_code == code and message in result.output, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0


def old(days: int) -> timedelta:
    return timedelta(days=days)


def test_purge_deletes_read_notifications_past_retention_and_keeps_the_rest(app, session):
    user = make_user(username="ada")
    stale = add_notifications(user.id, 3, read=True, age=old(91))
    add_notifications(user.id, 2, read=False, age=old(200))  # unread: never deleted
    add_notifications(user.id, 2, read=True, age=old(89))  # read, but recent

    assert purge_read(chunk=2) == 3  # several chunks
    left = session.scalars(sa.select(Notification.id)).all()
    assert len(left) == 4 and not set(stale) & set(left)


def test_retention_days_come_from_config(app, session):
    user = make_user(username="ada")
    add_notifications(user.id, 2, read=True, age=old(11))
    app.config["NOTIFICATION_RETENTION_DAYS"] = 30
    assert purge_read() == 0
    app.config["NOTIFICATION_RETENTION_DAYS"] = 10
    assert purge_read() == 2


def test_the_retention_job_runs_daily_in_a_worker(app, run_jobs):
    [entry] = [p for p in PERIODIC if p.func == "jobs.notifications.purge_read_notifications"]
    runs = croniter(entry.cron, utcnow())
    first = runs.get_next(type(utcnow()))
    assert runs.get_next(type(utcnow())) - first == timedelta(days=1)
    assert entry.queue == "low" and app.config["NOTIFICATION_RETENTION_DAYS"] == 90

    with app.app_context():
        user = make_user(username="ada")
        add_notifications(user.id, 2, read=True, age=old(120))
        enqueue(entry.func, queue=entry.queue)
        db.session.commit()
    assert run_jobs(("low",)) == 1
    with app.app_context():
        assert count_notifications() == 0


def test_purge_command_says_how_many_it_deleted(app, runner):
    with app.app_context():
        user = make_user(username="ada")
        add_notifications(user.id, 2, read=True, age=old(100))
    result = runner.invoke(args=["notify", "purge"])
    assert result.exit_code == 0
    assert "Deleted 2 read notification(s) older than 90 days." in result.output
