"""An audit event as a sentence a person reads: "boss refunded invoice INV-2026-00012 ($49.00)".

`SENTENCES` maps each event kind the app records (grep `audit.record`) to a format string; the
placeholders are filled from the event (`{actor}`, `{target}`, `{amount}`, and the keys of
`before`/`after` as `{before_<key>}` / `{after_<key>}`). A kind not listed gets a generic sentence.
Every value is escaped; the actor and the target link to their admin pages when they have one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flask import url_for
from markupsafe import Markup

from app.admin.queries import AuditTarget
from app.models.audit import AuditEvent
from app.money import format_money

SENTENCES: dict[str, str] = {
    # sign-up, sign-in, passwords
    "user.signup": "{actor} signed up{after_method_via}",
    "user.signup_duplicate": "someone tried to sign up again with {after_email}",
    "user.email_verified": "{actor} verified their email address{after_method_via}",
    "user.social_linked": "{actor} linked their {after_provider} account",
    "auth.login": "{actor} signed in{after_method_via}",
    "auth.login_failed": "a sign-in as {after_identifier} failed ({after_reason})",
    "auth.logout": "{actor} signed out",
    "auth.personal_token_created": "{actor} made a personal API token, {after_name}",
    "auth.personal_token_revoked": "{actor} revoked the personal API token {after_name}",
    "auth.refresh_reused": "{actor}'s spent API refresh token was used again: that API sign-in was ended",
    "auth.token_revoked": "{actor} revoked an API token",
    "auth.second_step": "{actor}'s {after_method} was right; the sign-in waits for the second factor",
    "auth.second_factor": "{actor} completed the sign-in with {after_factor_words}",
    "mfa.totp_enabled": "{actor} turned on their authenticator app",
    "mfa.totp_disabled": "{actor} turned off their authenticator app",
    "mfa.recovery_codes_regenerated": "{actor} made new recovery codes",
    "mfa.reset_by_staff": "{actor} reset {target}'s second factor",
    "auth.reauthenticated": "{actor} confirmed it was them{after_method_by} before a sensitive change",
    "auth.reauth_failed": "{actor} failed to confirm it was them{after_method_by}",
    "password.reset_requested": "a password reset link was requested for {after_email}",
    "password.reset": "{actor} reset their password ({after_sessions_ended} other sessions ended)",
    "password.changed": "{actor} changed their password ({after_sessions_ended} other sessions ended)",
    "password.change_failed": "{actor} tried to change their password with a wrong current password",
    "password.set": "{actor} set a first password ({after_sessions_ended} other sessions ended)",
    # the account
    "user.profile_updated": "{actor} updated their profile ({after_fields})",
    "user.timezone_detected": "{actor}'s time zone was detected from their browser: {after_timezone}",
    "user.phone_verified": "{actor} verified their phone number",
    "user.phone_released": "{actor} took over a phone number {target} had",
    "user.phone_removed": "{actor} removed their phone number",
    "session.ended": "{actor} signed out a session on {after_device}",
    "session.ended_others": "{actor} signed out {after_sessions_ended} other sessions",
    "passkey.added": "{actor} added the passkey {after_name}",
    "passkey.add_failed": "{actor} tried to add a passkey that could not be verified",
    "passkey.renamed": "{actor} renamed the passkey {before_name} to {after_name}",
    "passkey.removed": "{actor} removed the passkey {before_name}",
    "passkey.sign_count_regressed": "{actor}'s passkey answered with a sign count that went back "
    "from {before_sign_count} to {after_sign_count} (refused: a cloned authenticator?)",
    "user.email_change_requested": "{actor} asked to change their email address (a code went to the new one)",
    "user.email_change_failed": "{actor} entered a wrong code to change their email address",
    "user.email_changed": "{actor} changed their email address from {before_email} to {after_email}",
    "user.export_requested": "{actor} asked for a copy of their data",
    "user.export_ready": "a copy of {target}'s data was prepared and the link emailed",
    "user.deleted": "{actor} deleted the account {target} ({after_subscriptions_cancelled} subscriptions cancelled)",
    # staff on people
    "user.role_changed": "{actor} changed {target}'s role from {before_role} to {after_role}",
    "user.deactivated": "{actor} deactivated {target} ({after_sessions_ended} sessions ended)",
    "user.reactivated": "{actor} reactivated {target}",
    "user.signed_out_everywhere": "{actor} signed {target} out everywhere ({after_sessions_ended} sessions ended)",
    "user.verification_resent": "{actor} re-sent the verification email to {target}",
    "user.reset_link_sent": "{actor} sent a password reset link to {target}",
    "role.created": "{actor} created the role {target}",
    "role.updated": "{actor} changed the permissions of the role {target}",
    "rbac.synced": "{actor} synchronised roles and permissions",
    # catalog and settings
    "product.created": "{actor} created the product {target}",
    "product.updated": "{actor} updated the product {target}",
    "product.retired": "{actor} retired the product {target}",
    "product.restored": "{actor} restored the product {target}",
    "product.deleted": "{actor} deleted the product {before_name}",
    "plan.created": "{actor} created the plan {target}",
    "plan.updated": "{actor} updated the plan {target}",
    "plan.retired": "{actor} retired the plan {target}",
    "plan.restored": "{actor} restored the plan {target}",
    "plan.deleted": "{actor} deleted the plan {before_name}",
    "fee.changed": "{actor} changed the platform fee from {before_percent}% to {after_percent}%",
    "seller.changed": "{actor} changed the seller details on invoices to {after_name}",
    "notifications.broadcast": "{actor} sent the announcement “{after_title}” to {after_recipients} people",
    # billing
    "subscription.trial_started": "{actor} started a trial of {after_plan}",
    "subscription.auto_renew": "{actor} turned auto-renew {after_auto_renew_onoff} for {target}",
    "subscription.cancel": "{actor} cancelled {target} ({after_when_text})",
    "subscription.resume": "{actor} resumed {target}{after_reason_text}",
    "subscription.pause": "{actor} set {target} to pause from {after_pauses_on} until {after_resumes_on}"
    "{after_reason_text}",
    "subscription.trial_extended": "{actor} extended the trial of {target} by {after_days} days",
    "subscription.plan_changed": "{actor} switched {target} from {before_plan} to {after_plan}",
    "subscription.plan_change_scheduled": "{actor} scheduled {target} to switch to {after_plan} at renewal",
    "subscription.plan_change_charging": "{actor} is charged {after_invoice} to switch {target} to {after_plan}",
    "subscription.plan_change_declined": "the payment to switch {target} to another plan was declined ({after_reason})",
    "subscription.plan_change_cancelled": "{actor} cancelled the switch of {target} to {after_plan}",
    "payment_method.saved": "{actor} saved the card {after_card}",
    "checkout.completed": "{actor} checked out{after_method_by}",
    "checkout.declined": "{actor}'s payment was declined ({after_code})",
    "checkout.refunded": "{actor}'s payment was refunded ({after_reason})",
    "coupon.created": "{actor} created the coupon {after_code}",
    "coupon.code_added": "{actor} added the code {after_code} to the coupon {target}",
    "coupon.deactivated": "{actor} deactivated the coupon {target}",
    "invoice.mark_paid": "{actor} marked invoice {target} ({amount}) as paid",
    "invoice.void": "{actor} voided invoice {target} ({amount})",
    "invoice.refund": "{actor} refunded {after_refunded} of invoice {target} ({amount}){after_destination_text}",
    "invoice.payment_started": "{actor} started paying invoice {target} ({amount}) with {after_card}",
    "invoice.refund_refused": "{after_by} refused {actor}'s refund of {after_refunded} on invoice {target}: "
    "{after_message}",
    "credit.adjusted": "{actor} changed the credit balance of {target} by {after_change} to {after_balance_text} "
    "({after_reason})",
    "invoice.disputed": "The card holder disputed invoice {target} ({amount}) at their bank: {after_reason}",
    "invoice.dispute_won": "The dispute of invoice {target} ({amount}) was won: it is paid again",
    "invoice.dispute_lost": "The dispute of invoice {target} ({amount}) was lost: the bank took the money back",
    # jobs
    "job.retried": "{actor} retried the job {target}",
    "job.deleted": "{actor} deleted the job {target}",
}

GENERIC = "{actor} — {action} on {target}"

# Where a target of each type is shown in the admin (endpoint, its id argument, how the id reads).
TARGET_PAGES: dict[str, tuple[str, str, type]] = {
    "users": ("admin.users_detail", "user_id", uuid.UUID),
    "invoice": ("admin.invoices_detail", "invoice_id", uuid.UUID),
    "subscription": ("admin.subscriptions_detail", "subscription_id", uuid.UUID),
    "product": ("admin.products_edit", "product_id", uuid.UUID),
    "role": ("admin.roles_edit", "role_id", int),
    "job": ("admin.jobs_detail", "job_id", str),
}


def _link(label: str, endpoint: str | None, **values: Any) -> Markup:
    if endpoint is None:
        return Markup("<strong>{}</strong>").format(label)
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), label)


def _target(event: AuditEvent, target: AuditTarget | None) -> Markup:
    if not event.target_type:
        return Markup("")
    label = target.label if target else f"{event.target_type.replace('_', ' ')} {event.target_id or ''}".strip()
    page = TARGET_PAGES.get(event.target_type)
    if event.target_type == "plan" and target and target.product_id:
        return _link(label, "admin.plans_edit", product_id=target.product_id, plan_id=event.target_id)
    if page is None or not event.target_id or (target is None and event.target_type != "job"):
        return _link(label, None)  # gone (deleted) or not shown anywhere: named, not linked
    endpoint, argument, kind = page
    try:
        value = kind(event.target_id)
    except ValueError:
        return _link(label, None)
    return _link(label, endpoint, **{argument: value})


def _readable(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "nothing"
    return "none" if value is None or value == "" else str(value)


class _Values(dict[str, Any]):
    """The placeholders of one sentence; a key the event lacks reads "—" rather than failing."""

    def __missing__(self, key: str) -> str:
        return "—"


def _values(event: AuditEvent, actor: Markup, target: Markup, found: AuditTarget | None) -> _Values:
    values = _Values(actor=actor, target=target, action=event.action)
    for side, data in (("before", event.before), ("after", event.after)):
        for key, value in (data or {}).items():
            values[f"{side}_{key}"] = _readable(value)
    after: Mapping[str, Any] = event.after or {}
    method = after.get("method")
    values["after_method_via"] = f" with {method}" if method else ""
    values["after_method_by"] = f" by {str(method).replace('_', ' ')}" if method else ""
    values["after_factor_words"] = str(after.get("factor") or "a second factor").replace("_", " ")
    values["after_auto_renew_onoff"] = "on" if after.get("auto_renew") else "off"
    when = after.get("when")
    values["after_when_text"] = {"now": "at once", "period_end": "at the end of the period"}.get(
        str(when), _readable(when)
    )
    values["after_destination_text"] = " to the credit balance" if after.get("destination") == "balance" else ""
    values["after_reason_text"] = f" ({after['reason']})" if after.get("reason") else ""
    values["amount"] = format_money(found.amount, found.currency) if found and found.amount is not None else "—"
    return values


def sentence(event: AuditEvent, actor_name: str | None, target: AuditTarget | None) -> Markup:
    """The event as an HTML sentence (escaped, with links); unknown kinds get a generic one."""
    actor = _link(actor_name, "admin.users_detail", user_id=event.actor_id) if actor_name else _link("system", None)
    template = SENTENCES.get(event.action, GENERIC)
    template = template[:1].upper() + template[1:]  # "{actor} …" stays as is; "someone …" reads "Someone …"
    # The format strings are this module's constants; Markup.format_map escapes every value that is not Markup.
    trusted = Markup(template)  # noqa: S704
    return trusted.format_map(_values(event, actor, _target(event, target), target))
