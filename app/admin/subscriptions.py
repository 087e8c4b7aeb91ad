"""Admin subscriptions: the filtered list, one subscription, cancel, extend-a-trial, pause and resume actions."""

import uuid

from flask import request
from flask.typing import ResponseReturnValue

from app.admin import bp, queries
from app.admin.forms import (
    CancelForm,
    ListFilterForm,
    SubscriptionPauseForm,
    SubscriptionResumeForm,
    TrialExtensionForm,
)
from app.admin.listing import paginate
from app.admin.staff import staff_id
from app.auth.permissions import permission_required
from app.billing import timeline
from app.billing.services import pauses, staff_actions
from app.errors import ValidationError
from app.models.billing import SUBSCRIPTION_STATUSES, Subscription
from app.templating import render_page
from app.web import render_form, see_other, service_errors


@bp.get("/subscriptions")
@permission_required("subscriptions.view")
def subscriptions_list() -> ResponseReturnValue:
    form = ListFilterForm(request.args)
    form.offer("status", [("", "Any status"), *((s, s.replace("_", " ").capitalize()) for s in SUBSCRIPTION_STATUSES)])
    form.offer("product", [("", "Any product"), *queries.product_choices()])
    filters = form.filters()
    listing = paginate(
        queries.subscriptions(filters),
        endpoint="admin.subscriptions_list",
        sorts=queries.SUBSCRIPTION_SORTS,
        default_sort="started_at",
        args=filters.args(),
        scalars=False,
        tiebreak=Subscription.id,
    )
    return render_page("admin/subscriptions.html", block="results", listing=listing, filters=form)


def _detail(
    subscription_id: uuid.UUID,
    form: TrialExtensionForm | None = None,
    *,
    pause_form: SubscriptionPauseForm | None = None,
    resume_form: SubscriptionResumeForm | None = None,
) -> ResponseReturnValue:
    failed = form or pause_form or resume_form
    return render_form(
        "admin/subscription_detail.html",
        form or TrialExtensionForm(formdata=None),
        status=getattr(failed, "status", None) or (400 if failed and failed.errors else None),
        detail=(detail := queries.subscription_detail(subscription_id)),
        page=timeline.subscription_page(detail.sub),
        max_days=staff_actions.MAX_TRIAL_EXTENSION_DAYS,
        pause_form=pause_form or SubscriptionPauseForm(formdata=None),
        resume_form=resume_form or SubscriptionResumeForm(formdata=None),
        max_cycles=pauses.MAX_CYCLES,
    )


@bp.get("/subscriptions/<uuid:subscription_id>")
@permission_required("subscriptions.view")
def subscriptions_detail(subscription_id: uuid.UUID) -> ResponseReturnValue:
    return _detail(subscription_id)


@bp.post("/subscriptions/<uuid:subscription_id>/cancel")
@permission_required("subscriptions.manage")
def subscriptions_cancel(subscription_id: uuid.UUID) -> ResponseReturnValue:
    form = CancelForm()
    _, message = staff_actions.cancel(subscription_id, form.when.data or "", actor_id=staff_id())
    return see_other("admin.subscriptions_detail", message=message, subscription_id=subscription_id)


@bp.post("/subscriptions/<uuid:subscription_id>/extend-trial")
@permission_required("subscriptions.manage")
def subscriptions_extend_trial(subscription_id: uuid.UUID) -> ResponseReturnValue:
    form = TrialExtensionForm()
    if form.validate_on_submit():
        with service_errors(form, on_the_form=(ValidationError,)):
            _, message = staff_actions.extend_trial(subscription_id, form.days.data, actor_id=staff_id())
            return see_other("admin.subscriptions_detail", message=message, subscription_id=subscription_id)
    return _detail(subscription_id, form)


@bp.post("/subscriptions/<uuid:subscription_id>/pause")
@permission_required("subscriptions.manage")
def subscriptions_pause(subscription_id: uuid.UUID) -> ResponseReturnValue:
    form = SubscriptionPauseForm()
    if form.validate_on_submit():
        with service_errors(form):
            length = pauses.parse_length(form.cycles.data, form.until.data)
            _, message = staff_actions.pause(subscription_id, length, form.reason.data, actor_id=staff_id())
            return see_other("admin.subscriptions_detail", message=message, subscription_id=subscription_id)
    return _detail(subscription_id, pause_form=form)


@bp.post("/subscriptions/<uuid:subscription_id>/resume")
@permission_required("subscriptions.manage")
def subscriptions_resume(subscription_id: uuid.UUID) -> ResponseReturnValue:
    form = SubscriptionResumeForm()
    if form.validate_on_submit():
        with service_errors(form):
            _, message = staff_actions.resume(subscription_id, form.reason.data, actor_id=staff_id())
            return see_other("admin.subscriptions_detail", message=message, subscription_id=subscription_id)
    return _detail(subscription_id, resume_form=form)
