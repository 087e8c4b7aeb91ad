from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp, queues, services
from app.auth.permissions import permission_required
from app.outbox import QUEUES


@bp.get("/jobs")
@permission_required("jobs.manage")
def jobs():
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
def jobs_detail(job_id: str):
    return render_template("admin/job_detail.html", job=queues.get_failed_job(job_id))


@bp.post("/jobs/<job_id>/retry")
@permission_required("jobs.manage")
def jobs_retry(job_id: str):
    services.retry_failed_job(job_id, actor_id=current_user.id)
    flash("The job is queued again.", "success")
    return redirect(url_for("admin.jobs"), 303)


@bp.post("/jobs/<job_id>/delete")
@permission_required("jobs.manage")
def jobs_delete(job_id: str):
    services.delete_failed_job(job_id, actor_id=current_user.id)
    flash("The failed job was deleted.", "success")
    return redirect(url_for("admin.jobs"), 303)
