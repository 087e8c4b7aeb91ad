"""Identity jobs: text messages and the periodic clean-ups."""
from app.auth.otp import cleanup_otps as _cleanup_otps
from app.auth.sessions import purge_sessions as _purge_sessions
from app.auth.sms import get_adapter


def send_sms(to: str, body: str) -> None:
    get_adapter().send(to, body)


def cleanup_otps() -> int:
    """Hourly: delete used, void and expired one-time codes."""
    return _cleanup_otps()


def purge_sessions() -> int:
    """Daily: delete ended and long-idle sessions."""
    return _purge_sessions()
