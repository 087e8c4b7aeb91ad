"""Every model, imported so metadata (and Alembic) sees them all."""
from app.models.audit import AuditEvent
from app.models.billing import Invoice, InvoiceCounter, InvoiceLine, PaymentMethod, Subscription, Transaction
from app.models.catalog import Plan, PlatformFee, PlatformFeeChange, Product
from app.models.checkout import CartItem, CheckoutAttempt, WebhookEvent
from app.models.mail import DevMail, SentEmail
from app.models.notification import Notification
from app.models.outbox import OutboxMessage
from app.models.user import Permission, Role, User, UserSession, role_permission

__all__ = [
    "AuditEvent", "CartItem", "CheckoutAttempt", "Invoice", "InvoiceCounter", "InvoiceLine", "PaymentMethod",
    "Transaction", "WebhookEvent", "DevMail", "Notification", "OutboxMessage", "Permission", "Plan", "PlatformFee",
    "PlatformFeeChange", "Product", "Role", "SentEmail", "Subscription", "User", "UserSession", "role_permission",
]
