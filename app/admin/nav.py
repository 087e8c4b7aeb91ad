"""The admin sidebar: each entry shows when the user may open its page."""

from flask_login import current_user

from app.admin import bp

SECTIONS = [
    ("Dashboard", "admin.dashboard", "admin.access"),
    ("Users", "admin.users_list", "users.view"),
    ("Roles", "admin.roles_list", "roles.manage"),
    ("Products", "admin.products_list", "catalog.manage"),
    ("Subscriptions", "admin.subscriptions_list", "subscriptions.view"),
    ("Invoices", "admin.invoices_list", "billing.view"),
    ("Transactions", "admin.transactions_list", "billing.view"),
    ("Platform fee", "admin.fee", "fee.manage"),
    ("Announcements", "admin.announcements", "notifications.broadcast"),
    ("Jobs", "admin.jobs", "jobs.manage"),
    ("Audit log", "admin.audit_list", "audit.view"),
]


@bp.app_context_processor
def _admin_nav():
    def admin_sections():
        if not (current_user and current_user.is_authenticated and current_user.can("admin.access")):
            return []
        return [(label, endpoint) for label, endpoint, permission in SECTIONS if current_user.can(permission)]

    return {"admin_sections": admin_sections}
