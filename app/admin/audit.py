from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import request

from app.admin import bp
from app.admin.listing import arg_date, arg_q, paginate, people_pattern, stream_csv
from app.auth.permissions import permission_required
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User
from app.templating import render_page

SORTS = {"created_at": AuditEvent.created_at, "action": AuditEvent.action}


def _filtered() -> tuple[sa.Select, dict]:
    """The audit query for the request's filters: actor (email/username), action, date range."""
    actor = arg_q()
    action = (request.args.get("action") or "").replace("\x00", "").strip()[:80]
    start, end = arg_date("from"), arg_date("to")
    query = sa.select(AuditEvent, User.username, User.email).outerjoin(User, User.id == AuditEvent.actor_id)
    if actor:
        pattern = people_pattern(actor)
        query = query.where(sa.or_(User.email.like(pattern), User.username.like(pattern)))
    if action:
        query = query.where(AuditEvent.action == action)
    if start:
        query = query.where(AuditEvent.created_at >= datetime.combine(start, time.min, UTC))
    if end:
        query = query.where(AuditEvent.created_at < datetime.combine(end + timedelta(days=1), time.min, UTC))
    args = {
        "q": actor,
        "action": action,
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
    }
    return query, args


@bp.get("/audit")
@permission_required("audit.view")
def audit_list():
    query, args = _filtered()
    listing = paginate(
        query, endpoint="admin.audit_list", sorts=SORTS, default_sort="created_at", args=args, scalars=False
    )
    actions = db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_page("admin/audit.html", block="results", listing=listing, actions=actions, args=args)


@bp.get("/audit.csv")
@permission_required("audit.view")
def audit_export():
    query, _ = _filtered()
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
