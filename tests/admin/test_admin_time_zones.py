"""Admin pages read on the admin's own clock, whoever the row is about; the audit log keeps the UTC
instant in <time datetime>; a customer's chosen zone shows on their admin page."""

from datetime import UTC, datetime

import sqlalchemy as sa

from app import audit
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User
from tests.support.users import make_user

AT = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)


def _set_zone(app, user_id, name):
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user_id).values(timezone=name))
        db.session.commit()


def test_the_audit_log_reads_on_the_admins_clock_with_the_instant_for_machines(app, admin_client):
    with app.app_context():
        berliner = make_user(username="hans", timezone="Europe/Berlin")
        event = audit.record("auth.logout", actor_id=berliner.id)
        db.session.flush()
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id).values(created_at=AT))
        db.session.commit()
    assert (
        '<time datetime="2026-12-07T13:05:00Z">07 Dec 2026, 13:05 UTC</time>' in admin_client.get("/admin/audit").text
    )
    _set_zone(app, admin_client.user_id, "Asia/Tokyo")
    page = admin_client.get("/admin/audit").text
    assert '<time datetime="2026-12-07T13:05:00Z">07 Dec 2026, 22:05 JST</time>' in page
    assert "CET" not in page  # the Berliner's zone is theirs, not the reader's


def test_a_customers_admin_page_names_their_zone_and_shows_times_on_the_admins(app, admin_client):
    with app.app_context():
        hans = make_user(username="hans", timezone="Europe/Berlin")
        db.session.execute(sa.update(User).where(User.id == hans.id).values(created_at=AT, last_login_at=AT))
        db.session.commit()
        hans_id = hans.id
    _set_zone(app, admin_client.user_id, "America/New_York")
    page = admin_client.get(f"/admin/users/{hans_id}").text
    assert "<dt>Time zone</dt><dd>Europe/Berlin</dd>" in page
    assert "<dt>Last sign-in</dt><dd>07 Dec 2026, 08:05 EST</dd>" in page
