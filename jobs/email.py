from typing import Any

from app.mail.services import deliver
from app.outbox import current_job_id


def send_email(message: dict[str, Any], idempotency_key: str | None = None) -> bool:
    """Deliver one email. The key defaults to the RQ job id (outbox-<id>), so a
    re-delivered or retried job never sends twice."""
    key = idempotency_key or current_job_id()
    if not key:
        raise ValueError("send_email needs an idempotency key outside a worker")
    return deliver(message, key)
