"""Account jobs: the email-change notice, data exports, and the hourly clean-up of held names and exports.

They take ids (and, for the notice, the old address the person typed long ago); reset links and
download tokens are made here, in the worker.
"""

import uuid

from app.account import email_change, erasure, exports
from app.outbox import current_job_id


def _key() -> str:
    key = current_job_id()
    if not key:
        raise ValueError("this job needs its job id (outbox-<id>) as the idempotency key: run it from the outbox")
    return key


def send_email_changed(user_id: str, old_address: str) -> bool:
    """Tell the old address that the account's email changed, with a reset link."""
    return email_change.send_changed_notice(uuid.UUID(user_id), old_address, key=_key())


def prepare_export(export_id: str) -> bool:
    """Write the export's JSON and email the download link."""
    return exports.prepare(uuid.UUID(export_id), key=_key())


def purge_account_data() -> dict[str, int]:
    """Hourly: delete expired exports and free usernames held past their 30 days."""
    return {"exports": exports.purge_expired(), "usernames": erasure.release_expired_holds()}
