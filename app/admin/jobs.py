from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp, queues
from app.admin.access import require
from app.outbox import QUEUES


@bp.get("/jobs")
@require("jobs.manage")
def jobs():
    queue = request.args.get("queue") if request.args.get("queue") in QUEUES else None
    return render_template("admin/jobs.html", states=queues.queue_states(), failed=queues.failed_jobs(queue),
                           backlog=queues.outbox_backlog(), queue=queue, queues=QUEUES)


@bp.get("/jobs/<job_id>")
@require("jobs.manage")
def jobs_detail(job_id: str):
    return render_template("admin/job_detail.html", job=queues.get_failed_job(job_id))


@bp.post("/jobs/<job_id>/retry")
@require("jobs.manage")
def jobs_retry(job_id: str):
    queues.retry_failed(job_id, actor_id=current_user.id)
    flash("The job is queued again.", "success")
    return redirect(url_for("admin.jobs"), 303)


@bp.post("/jobs/<job_id>/delete")
@require("jobs.manage")
def jobs_delete(job_id: str):
    queues.delete_failed(job_id, actor_id=current_user.id)
    flash("The failed job was deleted.", "success")
    return redirect(url_for("admin.jobs"), 303)
