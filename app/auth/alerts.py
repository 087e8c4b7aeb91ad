"""New sign-in alerts: an email when an account signs in from a browser it hasn't used before.

"Before" is the device cookie (app/auth/devices.py): a browser that signed in to the account
carries a signed cookie naming it; one without is new. The first sign-in after signing up is
not announced (there is nothing to compare with). The session row's id is queued after the
commit; the worker reads the device, IP and time from the row and sends the email.

Place: "Lisbon, Portugal (203.0.113.7)" when a GeoIP database is configured (app/auth/geoip.py),
else the IP address as it is.
"""

from __future__ import annotations

import logging
import uuid

from app import outbox
from app.auth import devices
from app.auth.geoip import place_for
from app.dates import iso_instant
from app.extensions import db
from app.links import external_url
from app.mail.services import deliver_to
from app.models.user import User, UserSession

log = logging.getLogger(__name__)

# Where the alert sends the person to review their sign-ins: switch to "account.security" once it exists.
SECURITY_PAGE = "account.security"


def is_new_device(user: User) -> bool:
    """This browser has never signed in to `user` (no valid device cookie naming the account)."""
    return str(user.id) not in devices.presented()


def queue_alert(record: UserSession) -> None:
    """Queue the alert for the session `record` (after the caller's commit)."""
    outbox.enqueue("jobs.auth.send_sign_in_alert", str(record.id), queue="high")


def send_alert(session_id: uuid.UUID, *, key: str) -> bool:
    """In the worker: email the account about the sign-in of `session_id`."""
    record = db.session.get(UserSession, session_id)
    user = db.session.get(User, record.user_id) if record is not None else None
    if record is None or user is None or not user.is_active:
        log.info("sign-in %s is gone; no alert", session_id)
        return False
    return deliver_to(
        user,
        "new_sign_in",
        {
            "device": record.device or "Unknown device",
            "place": place_for(record.ip),
            "when": iso_instant(record.created_at),
            "security_url": external_url(SECURITY_PAGE),
        },
        key,
    )
