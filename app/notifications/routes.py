"""The notification center and the unread badge.

Every mutation works twice: by HTMX in place (the item or the list is swapped
and the response fires `notifications-changed` so the badge refreshes) and as
a plain form (POST, then a 303 back to the page).
"""

from __future__ import annotations

import json
import uuid

from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.sessions import passive
from app.notifications import bp, services
from app.notifications.forms import CenterForm
from app.templating import render_page
from app.web import is_htmx


@bp.after_app_request
def _announce_changes(response: Response) -> Response:
    """Any request that created or read notifications tells the page (see `notify`)."""
    if g.get("notifications_changed"):
        add_hx_trigger(response, services.CHANGED_EVENT)
    return response


def add_hx_trigger(response: Response, event: str) -> None:
    """Add `event` to HX-Trigger, keeping events another handler already set."""
    existing = response.headers.get("HX-Trigger", "").strip()
    if not existing:
        response.headers["HX-Trigger"] = event
    elif existing.startswith("{"):
        response.headers["HX-Trigger"] = json.dumps({**json.loads(existing), event: ""})
    elif event not in [name.strip() for name in existing.split(",")]:
        response.headers["HX-Trigger"] = f"{existing}, {event}"


@bp.app_template_global("notification_unread_count")
def _unread_count_for_current_user() -> int:
    return services.unread_count(current_user.id) if current_user.is_authenticated else 0


def _page() -> int:
    return CenterForm.read().page_number


@bp.get("/")
@login_required
def index() -> str:
    page = services.page_for(current_user.id, _page())
    return render_page("notifications/index.html", page=page)


@bp.get("/badge")
@passive  # the poll of an open tab is not someone using the site
def badge() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    if not current_user.is_authenticated:
        # 286 tells htmx to stop polling; the empty body removes the bell.
        return "", 286
    body = render_template("components/_notification_badge.html", unread=services.unread_count(current_user.id))
    return body, 200, {"Cache-Control": "no-store"}


@bp.get("/<uuid:notification_id>")
@login_required
def detail(notification_id: uuid.UUID) -> str:
    notification = services.get_own(current_user.id, notification_id)
    return render_template("notifications/detail.html", n=notification)


@bp.post("/<uuid:notification_id>/open", endpoint="open")
@login_required
def open_notification(notification_id: uuid.UUID) -> Response:
    """Clicking a notification: mark it read and follow its link (or show it in full)."""
    notification = services.mark_read(current_user.id, notification_id)
    target = services.safe_link(notification.link) or url_for(".detail", notification_id=notification.id)
    return redirect(target, 303)


@bp.post("/<uuid:notification_id>/read")
@login_required
def mark_read(notification_id: uuid.UUID) -> str | Response:
    notification = services.mark_read(current_user.id, notification_id)
    if is_htmx():
        unread = services.unread_count(current_user.id)
        return render_template("notifications/_item.html", n=notification, page_number=_page()) + render_template(
            "notifications/_summary.html", unread=unread, page_number=_page(), oob=True
        )
    if CenterForm.read().back_to_detail:
        return redirect(url_for(".detail", notification_id=notification.id), 303)
    return redirect(url_for(".index", page=_page(), _anchor=f"n-{notification.id}"), 303)


@bp.post("/read-all")
@login_required
def mark_all_read() -> str | Response:
    changed = services.mark_all_read(current_user.id)
    if is_htmx():
        return render_page("notifications/index.html", block="center", page=services.page_for(current_user.id, _page()))
    flash(
        f"Marked {changed} notification{'s' if changed != 1 else ''} as read."
        if changed
        else "You were already all caught up.",
        "success",
    )
    return redirect(url_for(".index", page=_page()), 303)
