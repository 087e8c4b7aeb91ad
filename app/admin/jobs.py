"""Failed jobs: the queues' state, each failed job with its traceback, retry or delete it."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from app.admin import bp, queues, services
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.outbox import QUEUES
from app.web import see_other


@bp.get("/jobs")
@permission_required("jobs.manage")
def jobs() -> ResponseReturnValue:
    queue = request.args.get("queue") if request.args.get("queue") in QUEUES else None
    failed = [(job, queues.error_summary(job)) for job in queues.failed_jobs(queue)]
    return render_template(
        "admin/jobs.html",
        states=queues.queue_states(),
        failed=failed,
        backlog=queues.outbox_backlog(),
        queue=queue,
        queues=QUEUES,
    )


@bp.get("/jobs/<job_id>")
@permission_required("jobs.manage")
def jobs_detail(job_id: str) -> ResponseReturnValue:
    return render_template("admin/job_detail.html", job=queues.get_failed_job(job_id))


@bp.post("/jobs/<job_id>/retry")
@permission_required("jobs.manage")
def jobs_retry(job_id: str) -> ResponseReturnValue:
    services.retry_failed_job(job_id, actor_id=staff_id())
    return see_other("admin.jobs", message="The job is queued again.")


@bp.post("/jobs/<job_id>/delete")
@permission_required("jobs.manage")
def jobs_delete(job_id: str) -> ResponseReturnValue:
    services.delete_failed_job(job_id, actor_id=staff_id())
    return see_other("admin.jobs", message="The failed job was deleted.")
