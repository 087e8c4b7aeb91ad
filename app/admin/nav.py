"""The admin sidebar: each page the signed-in staff member may open (every entry is a page of this blueprint)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.admin import bp
from app.admin.staff import staff_can

SECTIONS = [
    ("Dashboard", "admin.dashboard", "admin.access"),
    ("Users", "admin.users_list", "users.view"),
    ("Roles", "admin.roles_list", "roles.manage"),
    ("Products", "admin.products_list", "catalog.manage"),
    ("Subscriptions", "admin.subscriptions_list", "subscriptions.view"),
    ("Invoices", "admin.invoices_list", "billing.view"),
    ("Transactions", "admin.transactions_list", "billing.view"),
    ("Reconciliation", "admin.reconciliation", "billing.view"),
    ("Platform fee", "admin.fee", "fee.manage"),
    ("Announcements", "admin.announcements", "notifications.broadcast"),
    ("Jobs", "admin.jobs", "jobs.manage"),
    ("Audit log", "admin.audit_list", "audit.view"),
]


@bp.app_context_processor
def _admin_nav() -> dict[str, Callable[..., Any]]:
    def admin_sections() -> list[tuple[str, str]]:
        if not staff_can("admin.access"):
            return []
        return [(label, endpoint) for label, endpoint, permission in SECTIONS if staff_can(permission)]

    return {"admin_sections": admin_sections}
