"""The audit log: every recorded action, filtered by actor, action and dates; CSV export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import request
from flask.typing import ResponseReturnValue

from app.admin import bp, queries
from app.admin.audit_sentences import sentence
from app.admin.forms import ListFilterForm
from app.admin.listing import arg_date, paginate, stream_csv
from app.auth.permissions import permission_required
from app.models.audit import AuditEvent
from app.templating import render_page

if TYPE_CHECKING:
    from app.admin.listing import Rows


def _filtered() -> tuple[Rows, dict[str, Any], ListFilterForm]:
    """The audit query for the request's filters: actor (email/username), action, date range.

    A date that is not one is ignored here (the log is read by whoever investigates; it never refuses).
    """
    form = ListFilterForm(request.args)
    form.offer("action", [("", "All actions"), *((a, a) for a in queries.audit_actions())])
    actor, action = form.q.data or "", form.choice("action")
    start, end = arg_date("from"), arg_date("to")
    form.start.data, form.end.data = start.isoformat() if start else "", end.isoformat() if end else ""
    args = {
        "q": actor,
        "action": action,
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
    }
    return queries.audit_events(actor=actor, action=action, start=start, end=end), args, form


@bp.get("/audit")
@permission_required("audit.view")
def audit_list() -> ResponseReturnValue:
    query, args, form = _filtered()
    listing = paginate(
        query,
        endpoint="admin.audit_list",
        sorts=queries.AUDIT_SORTS,
        default_sort="created_at",
        args=args,
        scalars=False,
    )
    targets = queries.audit_targets([row[0] for row in listing.rows])
    sentences = {
        row[0].id: sentence(row[0], row.username or row.email, targets.get((row[0].target_type, row[0].target_id)))
        for row in listing.rows
    }
    return render_page(
        "admin/audit.html", block="results", listing=listing, filters=form, args=args, sentences=sentences
    )


@bp.get("/audit.csv")
@permission_required("audit.view")
def audit_export() -> ResponseReturnValue:
    query, _, _ = _filtered()
    return stream_csv(
        "audit.csv",
        ["when", "actor", "action", "target_type", "target_id", "ip", "request_id", "before", "after"],
        query.order_by(AuditEvent.created_at.desc()),
        lambda r: (
            r[0].created_at,
            r.username or r.email or (str(r[0].actor_id) if r[0].actor_id else "system"),
            r[0].action,
            r[0].target_type,
            r[0].target_id,
            r[0].ip,
            r[0].request_id,
            r[0].before,
            r[0].after,
        ),
    )
