"""Every model, imported so metadata (and Alembic) sees them all."""

from app.models.api_token import ApiToken
from app.models.audit import AuditEvent
from app.models.billing import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    PaymentCustomer,
    PaymentMethod,
    Subscription,
    Transaction,
)
from app.models.catalog import Plan, PlatformFee, PlatformFeeChange, Product
from app.models.checkout import CartItem, CheckoutAttempt, WebhookEvent
from app.models.coupon import Coupon, PromotionCode, Redemption
from app.models.credit import CreditBalance, CreditEntry
from app.models.export import DataExport
from app.models.mail import DevMail, SentEmail
from app.models.mfa import RecoveryCode, TotpFactor
from app.models.notification import Announcement, Notification
from app.models.otp import UserOTP
from app.models.outbox import OutboxMessage, PeriodicJob
from app.models.passkey import WebAuthnCredential
from app.models.reconciliation import PaymentMismatch
from app.models.social import SocialAccount
from app.models.user import Permission, Role, User, UsernameHold, UserSession, role_permission

__all__ = [
    "Announcement",
    "ApiToken",
    "AuditEvent",
    "CartItem",
    "CheckoutAttempt",
    "Coupon",
    "CreditBalance",
    "CreditEntry",
    "DataExport",
    "DevMail",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "Notification",
    "OutboxMessage",
    "PaymentCustomer",
    "PaymentMethod",
    "PaymentMismatch",
    "PeriodicJob",
    "Permission",
    "PromotionCode",
    "Plan",
    "PlatformFee",
    "PlatformFeeChange",
    "Product",
    "RecoveryCode",
    "Redemption",
    "Role",
    "SentEmail",
    "SocialAccount",
    "Subscription",
    "TotpFactor",
    "Transaction",
    "User",
    "UserOTP",
    "UsernameHold",
    "UserSession",
    "WebAuthnCredential",
    "WebhookEvent",
    "role_permission",
]
