"""Announcements: write one, preview it as a notification and an email, send it; the ones sent."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from app.admin import bp, queries, services
from app.admin.forms import EVERYONE, AnnouncementForm
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.web import render_form, see_other, service_errors


def _form() -> AnnouncementForm:
    form = AnnouncementForm()
    form.audience.choices = [SelectChoice(EVERYONE, "Everyone")] + [
        SelectChoice(pid, f"Subscribers of {name}") for pid, name in queries.product_choices()
    ]
    return form


def _page(form: AnnouncementForm, preview: bool = False) -> ResponseReturnValue:
    return render_form("admin/announcements.html", form, preview=preview, recent=queries.recent_announcements())


@bp.get("/announcements")
@permission_required("notifications.broadcast")
def announcements() -> ResponseReturnValue:
    return _page(_form())


@bp.post("/announcements")
@permission_required("notifications.broadcast")
def announcements_send() -> ResponseReturnValue:
    form = _form()
    if form.validate_on_submit():
        with service_errors(form):
            if form.previewing:
                services.check_announcement(form.message())
                return _page(form, preview=True)
            announcement = services.announce(form.message(), product_id=form.product_id(), actor_id=staff_id())
            return see_other(
                "admin.announcements",
                message=f"Announcement queued for {announcement.recipient_count} recipient(s).",
            )
    return _page(form)
