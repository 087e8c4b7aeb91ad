"""Every model, imported so metadata (and Alembic) sees them all."""
from app.models.audit import AuditEvent
from app.models.catalog import Plan, PlatformFee, PlatformFeeChange, Product
from app.models.mail import DevMail, SentEmail
from app.models.notification import Notification
from app.models.otp import UserOTP
from app.models.outbox import OutboxMessage
from app.models.user import Permission, Role, User, UserSession, role_permission

__all__ = [
    "AuditEvent", "DevMail", "Notification", "OutboxMessage", "Permission", "Plan", "PlatformFee",
    "PlatformFeeChange", "Product", "Role", "SentEmail", "User", "UserOTP", "UserSession", "role_permission",
]
