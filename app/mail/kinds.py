"""Every kind of email: its queue and the context its templates need.

Templates live in templates/email/<kind>.{subject.txt,txt,html} and are rendered
with StrictUndefined. `SAMPLES` is realistic data for each kind; a test renders
every kind with it, so a template that needs more than its callers pass fails CI.
Every context also gets `site_name` and `base_url`. Times travel as UTC ISO instants and
the templates format them (`|date`, `|datetime`) on the recipient's clock.
"""

from __future__ import annotations

from typing import Any

HIGH = "high"
DEFAULT = "default"

KINDS: dict[str, str] = {
    "verification_code": HIGH,
    "login_code": HIGH,
    "reauth_code": HIGH,
    "password_reset": HIGH,
    "signup_attempt": HIGH,  # sent instead of a code when the address already has an account
    "password_changed": DEFAULT,
    "welcome": DEFAULT,
    "trial_started": DEFAULT,
    "trial_ending": DEFAULT,
    "subscription_activated": DEFAULT,
    "payment_receipt": DEFAULT,
    "payment_failed": DEFAULT,
    "order_refunded": DEFAULT,
    "invoice_disputed": DEFAULT,  # to billing staff: a card holder disputed a payment (Stripe)
    "subscription_expired": DEFAULT,
    "subscription_cancelled": DEFAULT,
    "subscription_ending": DEFAULT,
    "subscription_ended": DEFAULT,
    "subscription_resumed": DEFAULT,
    "subscription_pause_scheduled": DEFAULT,
    "subscription_paused": DEFAULT,
    "subscription_pause_ended": DEFAULT,
    "plan_changed": DEFAULT,
    "announcement": DEFAULT,
    "phone_released": DEFAULT,
    "passkey_added": DEFAULT,
    "passkey_removed": DEFAULT,
    "email_change_code": HIGH,
    "email_changed": HIGH,  # to the old address: it may be the owner's only warning
    "new_sign_in": HIGH,
    "signed_out_everywhere": DEFAULT,
    "account_deleted": DEFAULT,
    "export_ready": DEFAULT,
    "security_notice": DEFAULT,  # a second factor turned on or off, reset by staff, a recovery code used
}

_B = "https://shop.example.com"  # sample data: real links come from app/links.py
SAMPLES: dict[str, dict[str, Any]] = {
    "verification_code": {"name": "ada", "code": "482913", "expires_minutes": 10},
    "login_code": {"name": "ada", "code": "105733", "expires_minutes": 10},
    "reauth_code": {"name": "ada", "code": "639201", "expires_minutes": 10},
    "password_reset": {"name": "ada", "reset_url": f"{_B}/auth/password-reset/eyJ1c2VyIjoi", "expires_minutes": 60},
    "signup_attempt": {"name": "ada", "login_url": f"{_B}/auth/login", "reset_url": f"{_B}/auth/password-reset"},
    "password_changed": {
        "name": "ada",
        "when": "2026-11-22T14:05:00Z",
        "ip": "203.0.113.7",
        "reset_url": f"{_B}/auth/password-reset",
    },
    "welcome": {"name": "ada", "catalog_url": f"{_B}/products/"},
    "trial_started": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "plan_name": "Team",
        "trial_end": "2026-12-06T10:00:00Z",
        "subscription_url": f"{_B}/subscriptions/",
    },
    "trial_ending": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "plan_name": "Team",
        "trial_end": "2026-12-06T10:00:00Z",
        "days_left": 3,
        "subscription_url": f"{_B}/subscriptions/",
    },
    "subscription_activated": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "plan_name": "Team",
        "period_end": "2026-12-22T10:00:00Z",
        "subscription_url": f"{_B}/subscriptions/",
    },
    "payment_receipt": {
        "name": "ada",
        "invoice_number": "INV-2026-000123",
        "total": "$53.90",
        "paid_on": "2026-11-22T10:00:00Z",
        "invoice_url": f"{_B}/invoices/3f2a",
        "from_credit": "$10.00",
        "lines": [
            {"description": "Pipeline CRM · Team (monthly)", "amount": "$49.00"},
            {"description": "Platform fee (10%)", "amount": "$4.90"},
        ],
    },
    "payment_failed": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "total": "$53.90",
        "reason": "Your card was declined.",
        "retry_on": "2026-11-25T10:00:00Z",
        "invoice_number": "INV-2026-000123",
        "pay_url": f"{_B}/invoices/3f2a/pay",
        "billing_url": f"{_B}/subscriptions/",
    },
    "order_refunded": {
        "name": "ada",
        "total": "$517.22",
        "reason": "you already subscribe to Pipeline CRM.",
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "invoice_disputed": {
        "name": "grace",
        "invoice_numbers": "INV-2026-000123",
        "customer": "ada@example.com",
        "amount": "$53.90",
        "reason": "fraudulent",
        "respond_by": "2026-12-22T23:59:59Z",
        "invoice_url": f"{_B}/admin/invoices/3f2a",
    },
    "subscription_expired": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "subscription_cancelled": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "ends_on": "2026-12-22T10:00:00Z",
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "subscription_ending": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "ends_on": "2026-12-22T10:00:00Z",
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "subscription_ended": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "ended_on": "2026-12-22T10:00:00Z",
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "plan_changed": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "plan_name": "Pro",
        "old_plan_name": "Starter",
        "effective_on": "2026-12-22T10:00:00Z",
        "renews_on": "2027-01-22T10:00:00Z",
        "scheduled": False,
        "subscription_url": f"{_B}/subscriptions/",
    },
    "subscription_resumed": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "renews_on": "2026-12-22T10:00:00Z",
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "subscription_pause_scheduled": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "pause_start": "2026-12-22T10:00:00Z",
        "pause_end": "2027-02-22T10:00:00Z",
        "access_while_paused": False,
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "subscription_paused": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "pause_end": "2027-02-22T10:00:00Z",
        "access_while_paused": True,
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "subscription_pause_ended": {
        "name": "ada",
        "product_name": "Pipeline CRM",
        "period_start": "2027-02-22T10:00:00Z",
        "subscriptions_url": f"{_B}/subscriptions/",
    },
    "announcement": {
        "name": "ada",
        "title": "Scheduled maintenance",
        "body": "We upgrade the database on Sunday.\n\nExpect 10 minutes of downtime.",
        "link": f"{_B}/notifications/",
    },
    "phone_released": {
        "name": "ada",
        "title": "Your phone number was removed from your account",
        "body": "The number ending 0100 was just verified by another account, so it is no longer "
        "on yours and no longer signs you in. If the number is yours, verify it again "
        "from your profile.",
        "link": f"{_B}/account/profile",
    },
    "passkey_added": {
        "name": "ada",
        "passkey_name": "Chrome on Linux",
        "when": "7 Dec 2026, 14:05 UTC",
        "security_url": f"{_B}/account/security/passkeys",
    },
    "passkey_removed": {
        "name": "ada",
        "passkey_name": "Chrome on Linux",
        "when": "7 Dec 2026, 14:05 UTC",
        "security_url": f"{_B}/account/security/passkeys",
    },
    "email_change_code": {"name": "ada", "code": "204817", "expires_minutes": 60},
    "email_changed": {
        "name": "ada",
        "when": "7 Dec 2026, 14:05 UTC",
        "new_email": "ada@newmail.example",
        "reset_url": f"{_B}/auth/password-reset/eyJ1c2VyIjoi",
        "sessions_url": f"{_B}/account/sessions",
    },
    "new_sign_in": {
        "name": "ada",
        "device": "Chrome on Windows",
        "place": "203.0.113.7",
        "when": "7 Dec 2026, 14:05 UTC",
        "security_url": f"{_B}/account/sessions",
    },
    "signed_out_everywhere": {
        "name": "ada",
        "title": "You were signed out everywhere",
        "body": "Our staff signed your account out on every device. Sign in again to carry on.",
        "link": f"{_B}/auth/login",
    },
    "account_deleted": {"name": "ada", "username": "ada", "hold_days": 30},
    "export_ready": {
        "name": "ada",
        "download_url": f"{_B}/account/export/3f2a/download?token=abc",
        "expires": "8 Dec 2026, 14:05 UTC",
    },
    "security_notice": {
        "name": "ada",
        "title": "A recovery code was used to sign in to your account",
        "body": "Someone signed in with one of your recovery codes on 7 Dec 2026, 14:05 UTC. 2 codes are left: "
        "make new ones from your security page.",
        "link": f"{_B}/account/security",
    },
}


def queue_for(kind: str) -> str:
    return KINDS.get(kind, DEFAULT)
