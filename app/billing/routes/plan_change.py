"""Changing plan: the plans to choose from, the preview of one, its confirmation, cancelling a scheduled switch."""

from __future__ import annotations

import secrets
import uuid

from flask import flash, render_template, request
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.billing import bp, credit
from app.billing.forms import PlanChangeForm, parse_id, parse_seats, require_valid
from app.billing.routes import back_to
from app.billing.routes.subscriptions import subscription_id_of
from app.billing.services import plan_changes as service
from app.errors import PaymentDeclined, ValidationError


def _choices(sid: uuid.UUID, error: ValidationError | None = None, status: int = 200) -> tuple[str, int]:
    """The plans to choose from; a refused choice's message goes beside its field (`plan_id` or `quantity`)."""
    sub, plans, scheduled = service.options(current_user, sid)
    seats_error = error.errors.get("quantity", "") if error is not None else ""
    page = render_template(
        "billing/change_plan.html",
        sub=sub,
        plans=plans,
        scheduled=scheduled,
        error="" if seats_error or error is None else error.message,
        seats_error=seats_error,
    )
    return page, status


def _preview_page(preview: service.Preview, message: str = "", status: int = 200) -> tuple[str, int]:
    """The preview with a fresh idempotency key (a shown preview is confirmed at most once)."""
    page = render_template(
        "billing/change_preview.html",
        preview=preview,
        idempotency_key=secrets.token_urlsafe(24),
        message=message,
        credit_balance=credit.balance_of(current_user.id, preview.currency),
    )
    return page, status


@bp.get("/subscriptions/<subscription_id>/change")
@login_required
def change_plan(subscription_id: str) -> tuple[str, int]:
    """Without `plan`: the plans this subscription can switch to. With it (and optionally `quantity`, the seats):
    the preview of that switch."""
    sid = subscription_id_of(subscription_id)
    raw = request.args.get("plan")
    if raw is None:
        return _choices(sid)
    try:
        preview = service.preview(current_user, sid, parse_id(raw), parse_seats(request.args.get("quantity")))
    except ValidationError as exc:
        return _choices(sid, exc, 400)
    return _preview_page(preview)


@bp.post("/subscriptions/<subscription_id>/change")
@login_required
def confirm_change(subscription_id: str) -> Response | tuple[str, int]:
    sid = subscription_id_of(subscription_id)
    form = PlanChangeForm()
    require_valid(form)
    try:
        command = form.command(current_user.id, sid)
        result = service.change(command)
    except service.PreviewAgain as exc:
        return _preview_page(exc.preview, exc.message, 409)
    except ValidationError as exc:
        return _choices(sid, exc, 400)
    except PaymentDeclined as exc:
        return _preview_page(service.preview(current_user, sid, command.plan_id, command.quantity), exc.message, 402)
    flash(result.message, "success" if result.confirmed else "info")
    return back_to("billing.subscriptions", _anchor=f"sub-{sid}")


@bp.post("/subscriptions/<subscription_id>/change/cancel")
@login_required
def cancel_change(subscription_id: str) -> Response:
    sid = subscription_id_of(subscription_id)
    require_valid(PlanChangeForm())
    _, message = service.cancel_scheduled(current_user, sid)
    flash(message, "success")
    return back_to("billing.subscriptions", _anchor=f"sub-{sid}")
