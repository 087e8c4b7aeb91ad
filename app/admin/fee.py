import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp
from app.auth.permissions import permission_required
from app.catalog import fees
from app.errors import ValidationError
from app.extensions import db
from app.models.catalog import PlatformFee, PlatformFeeChange
from app.models.user import User


def _page(errors: dict | None = None, form: dict | None = None, status: int = 200):
    current = db.session.get(PlatformFee, 1)
    history = db.session.execute(
        sa.select(PlatformFeeChange, User.username)
        .outerjoin(User, User.id == PlatformFeeChange.changed_by_id)
        .order_by(PlatformFeeChange.changed_at.desc())
        .limit(50)
    ).all()
    updated_by = db.session.get(User, current.updated_by_id) if current and current.updated_by_id else None
    return render_template(
        "admin/fee.html", current=current, updated_by=updated_by, history=history, errors=errors or {}, form=form or {}
    ), status


@bp.get("/fee")
@permission_required("fee.manage")
def fee():
    return _page()


@bp.post("/fee")
@permission_required("fee.manage")
def fee_update():
    form = {"percent": request.form.get("percent", ""), "reason": request.form.get("reason", "")}
    try:
        change = fees.set_fee(form["percent"], actor_id=current_user.id, reason=form["reason"])
    except ValidationError as exc:
        db.session.rollback()
        return _page({exc.field or "percent": exc.message}, form, 400)
    flash(f"The platform fee is now {change.new_percent}%.", "success")
    return redirect(url_for("admin.fee"), 303)
