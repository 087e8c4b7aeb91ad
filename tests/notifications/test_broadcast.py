"""Broadcast: an announcement fans out in jobs of ≤ 500 users, once per recipient, never twice."""

import uuid

import pytest
import sqlalchemy as sa

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.mail import SentEmail
from app.models.notification import Announcement, Notification
from app.models.outbox import OutboxMessage
from app.notifications.broadcast import BATCH_JOB, BATCH_SIZE, broadcast
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory
from tests.notifications.helpers import bulk_users, count_notifications
from tests.support.users import make_user


def batch_jobs() -> list[OutboxMessage]:
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.func == BATCH_JOB).order_by(OutboxMessage.id)
    ).all()


def recipients() -> list[uuid.UUID]:
    return db.session.scalars(sa.select(Notification.user_id).where(Notification.announcement_id.is_not(None))).all()


@pytest.mark.slow
def test_broadcast_to_ten_thousand_users_reaches_each_active_one_exactly_once_in_jobs_of_500(app, session, run_jobs):
    active = bulk_users(10_000)
    bulk_users(40, prefix="gone", active=False)

    announcement = broadcast("Scheduled maintenance", "Sunday, 02:00 UTC.", "/status", email=False)

    assert (announcement.recipient_count, announcement.batch_count) == (10_000, 20)
    jobs = batch_jobs()
    assert len(jobs) == 20 and all(job.queue == "low" for job in jobs)
    assert all(len(job.args[1]) == BATCH_SIZE == 500 for job in jobs)

    assert run_jobs() == 20
    got = recipients()
    assert len(got) == 10_000 and set(got) == set(active)  # each active user once; nobody inactive
    row = session.scalars(sa.select(Notification).limit(1)).one()
    assert (row.kind, row.title, row.body, row.link, row.is_read) == (
        "announcement",
        "Scheduled maintenance",
        "Sunday, 02:00 UTC.",
        "/status",
        False,
    )


def test_batches_split_the_remainder(app, session):
    bulk_users(1203)
    broadcast("Hello", "Body", email=False)
    assert [len(job.args[1]) for job in batch_jobs()] == [500, 500, 203]


def test_a_rerun_batch_creates_no_duplicate_notification_and_sends_no_second_email(app, session, smtp_sink, run_jobs):
    from app.outbox import get_queue
    from jobs.notifications import deliver_announcement

    app.config["BASE_URL"] = "https://shop.example.com"
    users = [make_user(username=name) for name in ("ada", "grace", "linus")]
    announcement = broadcast("New invoices", "Invoices now show the platform fee.", "/invoices/")
    assert run_jobs() == 1 + 3  # the batch, then one email each
    smtp_sink.wait_for(3)

    [job] = batch_jobs()
    assert deliver_announcement(*job.args) == 0  # run again in place
    get_queue("low").enqueue(BATCH_JOB, *job.args)  # and redelivered as a new RQ job
    assert run_jobs() == 1

    assert count_notifications(announcement_id=announcement.id) == 3
    assert sorted(recipients()) == sorted(u.id for u in users)
    assert len(smtp_sink.messages) == 3
    assert session.scalar(sa.select(sa.func.count()).select_from(SentEmail)) == 3
    message = smtp_sink.to("grace@example.test")[0]
    assert message["Subject"] == "New invoices"
    assert "Hi grace," in smtp_sink.text(message)
    assert "https://shop.example.com/invoices/" in smtp_sink.text(message)


def test_a_product_broadcast_reaches_its_live_subscribers_only(app, session, run_jobs):
    plan = PlanFactory(product=ProductFactory(slug="pipeline-crm", name="Pipeline CRM"))
    other_plan = PlanFactory(product=ProductFactory(slug="insight", name="Insight Analytics"))
    people = {
        name: make_user(username=name)
        for name in ("trial", "active", "past_due", "expired", "cancelled", "twice", "other", "none", "inactive")
    }
    for status in ("trial", "active", "past_due", "expired", "cancelled"):
        SubscriptionFactory(user_id=people[status].id, plan=plan, status=status)
    SubscriptionFactory(user_id=people["twice"].id, plan=plan, status="cancelled")
    SubscriptionFactory(user_id=people["twice"].id, plan=plan, status="active")
    SubscriptionFactory(user_id=people["other"].id, plan=other_plan, status="active")
    SubscriptionFactory(user_id=people["inactive"].id, plan=plan, status="active")
    people["inactive"].is_active = False
    session.commit()

    announcement = broadcast("CRM 2.0", "Pipelines got faster.", product_id=plan.product_id, email=False)
    run_jobs()

    assert announcement.audience == "product" and announcement.recipient_count == 4
    assert set(recipients()) == {people[n].id for n in ("trial", "active", "past_due", "twice")}


def test_broadcast_records_the_announcement_and_an_audit_event(app, session):
    admin = make_user(username="boss", role="admin")
    announcement = broadcast("  Hello  ", "Welcome aboard.", actor_id=admin.id)

    stored = session.get(Announcement, announcement.id)
    assert (stored.title, stored.audience, stored.product_id, stored.created_by_id, stored.recipient_count) == (
        "Hello",
        "all",
        None,
        admin.id,
        1,
    )
    event = session.scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.actor_id, event.target_id) == ("notifications.broadcast", admin.id, str(stored.id))


def test_a_broadcast_to_nobody_is_recorded_with_no_jobs(app, session):
    plan = PlanFactory(product=ProductFactory(slug="pipeline-crm", name="Pipeline CRM"))
    announcement = broadcast("Quiet", "Nobody subscribes yet.", product_id=plan.product_id)
    assert (announcement.recipient_count, announcement.batch_count) == (0, 0) and batch_jobs() == []


def test_a_deleted_announcement_delivers_nothing(app, session, run_jobs):
    make_user(username="ada")
    announcement = broadcast("Oops", "Sent by mistake.")
    session.delete(announcement)
    session.commit()
    assert run_jobs() == 1 and recipients() == []


@pytest.mark.parametrize(
    ("title", "body", "link", "field"),
    [
        ("", "Body", None, "title"),
        ("   ", "Body", None, "title"),
        ("x" * 201, "Body", None, "title"),
        ("Two\nlines", "Body", None, "title"),
        ("Nul\x00", "Body", None, "title"),
        ("Title", "", None, "body"),
        ("Title", "x" * 5001, None, "body"),
        ("Title", "bad \x00 byte", None, "body"),
        ("Title", "Body", "javascript:alert(1)", "link"),
        ("Title", "Body", "//evil.example", "link"),
        ("Title", "Body", "ftp://files.example", "link"),
        ("Title", "Body", "/" + "x" * 500, "link"),
    ],
)
def test_bad_broadcast_input_is_refused_and_changes_nothing(app, session, title, body, link, field):
    make_user(username="ada")
    with pytest.raises(ValidationError) as caught:
        broadcast(title, body, link)
    assert caught.value.field == field
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0 and batch_jobs() == []


def test_an_unknown_product_is_not_found(app, session):
    with pytest.raises(NotFound):
        broadcast("Title", "Body", product_id=uuid.uuid4())


@pytest.mark.parametrize("title", ["admin\u200b", "<script>alert(1)</script>", "' OR 1=1 --"])
def test_odd_but_harmless_titles_are_stored_as_typed(app, session, run_jobs, title):
    make_user(username="ada")
    broadcast(title, "Body", email=False)
    run_jobs()
    assert session.scalar(sa.select(Notification.title)) == title
