"""An action done through an admin page and through its `flask` command leaves the same audit row.

Both call the same service function; the only difference is who acted: the signed-in admin on the
page, nobody (the operator at the console, recorded as the system) from the command.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User
from app.outbox import enqueue
from tests.support.users import make_user


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.created_at, AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _shape(event: AuditEvent) -> dict:
    """What an audit row says, minus the values that differ by nature (ids, times, who exactly)."""
    return {
        "action": event.action,
        "target_type": event.target_type,
        "actor": "user" if event.actor_id else "system",
        "before": sorted(event.before or {}),
        "after": sorted(event.after or {}),
    }


def _page_and_command_rows(app, admin_client, action: str) -> tuple[AuditEvent, AuditEvent]:
    page, command = _events(app, action)
    assert page.actor_id == admin_client.user_id and command.actor_id is None
    assert {**_shape(page), "actor": "system"} == _shape(command)
    return page, command


def _fail_a_job(app, run_jobs) -> None:
    with app.app_context():
        enqueue("jobs.maintenance.ping", "unexpected-argument")
        db.session.commit()
    for _ in range(5):
        run_jobs(include_scheduled=True)


def test_retrying_a_failed_job_on_the_page_and_with_flask_jobs_retry_failed_audits_the_same(
    app, admin_client, runner, run_jobs
):
    _fail_a_job(app, run_jobs)
    assert admin_client.post("/admin/jobs/outbox-1/retry").status_code == 303
    for _ in range(5):
        run_jobs(include_scheduled=True)  # it fails again, through all its retries
    result = runner.invoke(args=["jobs", "retry-failed"])
    assert result.exit_code == 0 and "requeued 1 failed job(s)" in result.output
    page, command = _page_and_command_rows(app, admin_client, "job.retried")
    assert page.target_id == command.target_id == "outbox-1"
    assert page.after == command.after == {"func": "jobs.maintenance.ping", "queue": "default"}
    assert run_jobs.depth("default") == 1


def test_deactivating_on_the_page_and_with_flask_users_deactivate_audits_the_same(app, admin_client, runner):
    with app.app_context():
        on_page, by_command = make_user(username="pagegone").id, make_user(username="cligone").id
    assert admin_client.post(f"/admin/users/{on_page}/deactivate").status_code == 303
    assert runner.invoke(args=["users", "deactivate", "cligone@example.test"]).exit_code == 0
    page, command = _page_and_command_rows(app, admin_client, "user.deactivated")
    assert (page.target_id, command.target_id) == (str(on_page), str(by_command))
    with app.app_context():
        assert not any(db.session.get(User, uid).is_active for uid in (on_page, by_command))


def test_changing_a_role_on_the_page_and_with_flask_users_set_role_audits_the_same(app, admin_client, runner):
    from app.rbac import role_named

    with app.app_context():
        on_page, by_command = make_user(username="pagehelper").id, make_user(username="clihelper").id
        support_id = role_named("support").id
    assert admin_client.post(f"/admin/users/{on_page}/role", data={"role_id": support_id}).status_code == 303
    assert runner.invoke(args=["users", "set-role", "clihelper@example.test", "support"]).exit_code == 0
    page, command = _page_and_command_rows(app, admin_client, "user.role_changed")
    assert (page.target_id, command.target_id) == (str(on_page), str(by_command))
    assert page.before == command.before == {"role": "customer"}
    assert page.after == command.after == {"role": "support"}


def test_changing_the_fee_on_the_page_and_with_flask_fee_set_audits_the_same(app, admin_client, runner):
    response = admin_client.post("/admin/fee", data={"percent": "2.5", "reason": "New payment provider"})
    assert response.status_code == 303
    result = runner.invoke(args=["fee", "set", "3", "--reason", "Card costs went up"])
    assert result.exit_code == 0 and "3.00%" in result.output
    page, command = _page_and_command_rows(app, admin_client, "fee.changed")
    assert page.target_id == command.target_id == "1"
    assert (page.before, page.after) == ({"percent": "0.00"}, {"percent": "2.50", "reason": "New payment provider"})
    assert (command.before, command.after) == ({"percent": "2.50"}, {"percent": "3.00", "reason": "Card costs went up"})


def test_a_bad_fee_from_the_command_is_refused_like_on_the_page(app, admin_client, runner):
    page = admin_client.post("/admin/fee", data={"percent": "101", "reason": "x"})
    assert page.status_code == 400 and "between 0 and 100" in page.get_data(as_text=True)
    result = runner.invoke(args=["fee", "set", "101", "--reason", "x"])
    assert result.exit_code != 0 and "between 0 and 100" in result.output
    assert _events(app, "fee.changed") == []


def test_an_announcement_on_the_page_and_with_flask_notify_broadcast_audits_the_same(app, admin_client, runner):
    with app.app_context():
        make_user(username="reader")
    data = {"audience": "all", "title": "Dark mode", "body": "It is here.", "action": "send"}
    assert admin_client.post("/admin/announcements", data=data).status_code == 303
    result = runner.invoke(args=["notify", "broadcast", "--all", "--title", "Dark mode", "--body", "It is here."])
    assert result.exit_code == 0, result.output
    page, command = _page_and_command_rows(app, admin_client, "notifications.broadcast")
    assert page.target_type == command.target_type == "announcement"
    assert page.after == command.after
