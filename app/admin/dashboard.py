from flask import render_template

from app.admin import bp, queues, stats
from app.auth.permissions import permission_required
from app.errors import ExternalServiceError


@bp.get("/")
@permission_required("admin.access")
def dashboard():
    try:
        queue_states = queues.queue_states()
    except ExternalServiceError:
        queue_states = None
    return render_template("admin/dashboard.html", figures=stats.all_figures(), queue_states=queue_states,
                           backlog=queues.outbox_backlog())
