"""Every model, imported so metadata (and Alembic) sees them all."""
from app.models.audit import AuditEvent
from app.models.mail import DevMail, SentEmail
from app.models.outbox import OutboxMessage

__all__ = ["AuditEvent", "DevMail", "OutboxMessage", "SentEmail"]
