"""Identity jobs: codes and reset links (made in the worker), text messages, the periodic clean-ups.

They take ids and the typed address only: a code or a token never travels in
a job's arguments (which Redis keeps and the worker logs).
"""

import uuid

from app.auth import alerts, deliveries
from app.auth.otp import cleanup_otps as _cleanup_otps
from app.auth.sessions import purge_sessions as _purge_sessions
from app.auth.sms import get_adapter
from app.outbox import current_job_id


def _key() -> str:
    key = current_job_id()
    if not key:
        raise ValueError("this job needs its job id (outbox-<id>) as the idempotency key: run it from the outbox")
    return key


def send_code(otp_id: str, name: str | None = None) -> bool:
    """Send one issued code (email or text), or the signup notice; see app/auth/deliveries.py."""
    return deliveries.send_code(uuid.UUID(otp_id), key=_key(), name=name)


def send_password_reset(email: str) -> bool:
    """Email a reset link if the address has an active account; nothing otherwise."""
    return deliveries.send_password_reset(email, key=_key())


def send_sms(to: str, body: str) -> None:
    """Kept for text messages queued before codes were made in the worker; nothing queues it now."""
    get_adapter().send(to, body)


def cleanup_otps() -> int:
    """Hourly: delete used, void and expired one-time codes."""
    return _cleanup_otps()


def purge_sessions() -> int:
    """Daily: delete ended and long-idle sessions."""
    return _purge_sessions()


def send_sign_in_alert(session_id: str) -> bool:
    """Email the account about a sign-in from a browser it hadn't used (app/auth/alerts.py)."""
    return alerts.send_alert(uuid.UUID(session_id), key=_key())
