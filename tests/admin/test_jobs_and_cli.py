import json

from app.extensions import db
from app.outbox import enqueue, get_queue
from tests.support.users import make_user


def _fail_a_job(app, run_jobs):
    """Queue a job that raises, and run it through all its retries."""
    with app.app_context():
        enqueue("jobs.maintenance.ping", "unexpected-argument")
        db.session.commit()
    for _ in range(5):
        run_jobs(include_scheduled=True)
    return get_queue("default", app.extensions["redis"])


def test_a_failed_job_shows_its_traceback_and_can_be_retried_or_deleted(app, admin_client, run_jobs):
    _fail_a_job(app, run_jobs)
    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert "jobs.maintenance.ping" in page and "TypeError" in page
    job_id = "outbox-1"
    detail = admin_client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "Traceback" in detail and "TypeError" in detail
    assert admin_client.post(f"/admin/jobs/{job_id}/retry").status_code == 303
    assert run_jobs.depth("default") == 1
    run_jobs(include_scheduled=True)
    for _ in range(4):
        run_jobs(include_scheduled=True)
    assert admin_client.post(f"/admin/jobs/{job_id}/delete").status_code == 303
    assert admin_client.get(f"/admin/jobs/{job_id}").status_code == 404


def test_the_jobs_page_counts_outbox_rows_waiting_in_flight_and_failed_after_their_last_retry(
    app, admin_client, run_jobs
):
    _fail_a_job(app, run_jobs)
    with app.app_context():
        enqueue("jobs.maintenance.ping")  # handed to the queue, not run yet
        db.session.commit()
        enqueue("jobs.maintenance.ping")
        db.session.info.pop("outbox_pending")  # committed, never handed over (the process died)
        db.session.commit()
    page = admin_client.get("/admin/jobs").get_data(as_text=True)
    assert (
        "Outbox: 1 row waiting for the relay" in page
        and "; 1 handed to a queue and not finished yet; 1 failed after its last retry" in page
    )


def test_flask_jobs_retry_failed_requeues_them(app, runner, run_jobs):
    _fail_a_job(app, run_jobs)
    result = runner.invoke(args=["jobs", "retry-failed", "--queue", "default"])
    assert result.exit_code == 0
    assert "requeued 1 failed job(s) from default" in result.output
    assert runner.invoke(args=["jobs", "retry-failed", "--queue", "urgent"]).exit_code != 0


def test_flask_stats_prints_the_dashboard_figures(app, runner):
    with app.app_context():
        make_user(username="someone")
    text = runner.invoke(args=["stats"])
    assert text.exit_code == 0 and "users:                1 (+1 this week)" in text.output
    data = json.loads(runner.invoke(args=["stats", "--json"]).output)
    assert data["users_total"] == 1 and data["mrr"] == {} and data["queues"]["high"]["failed"] == 0


def test_dashboard_figures_are_cached_for_a_minute_and_stats_reads_live(app, admin_client, runner, count_queries):
    admin_client.get("/admin/")
    with count_queries() as cached:
        page = admin_client.get("/admin/").get_data(as_text=True)
    assert "+1 this week" in page
    assert not any("count(*) FILTER" in s or "users.created_at >=" in s for s in cached.statements)
    with app.app_context():
        make_user(username="latecomer")
    assert "+1 this week" in admin_client.get("/admin/").get_data(as_text=True)  # still the cached minute
    assert '"users_total": 2' in runner.invoke(args=["stats", "--json"]).output  # the CLI reads live
    app.extensions["redis"].delete("admin:dashboard:figures")
    assert "+2 this week" in admin_client.get("/admin/").get_data(as_text=True)
