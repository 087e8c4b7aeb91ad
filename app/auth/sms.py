"""Text messages through a small adapter interface.

No SMS provider is reachable from here, so the built-in adapter keeps each
message in the development outbox (a DevMail row addressed to the number,
readable at /dev/mail) and logs that it did, without the text: a text may
hold a code, and codes never go to a log. A real provider is a class with the
same `send(to, body)`, named in SMS_ADAPTER.
"""

from __future__ import annotations

import logging
from typing import Protocol

from flask import current_app
from werkzeug.utils import import_string

from app import outbox
from app.extensions import db
from app.models.mail import DevMail

log = logging.getLogger(__name__)


class SmsAdapter(Protocol):
    def send(self, to: str, body: str) -> None: ...


class OutboxSms:
    """Development adapter: the outbox instead of a carrier."""

    def send(self, to: str, body: str) -> None:
        db.session.add(
            DevMail(
                to=to,
                sender=f"{current_app.config['SITE_NAME']} (SMS)",
                subject=f"SMS to {to}",
                kind="sms",
                text=body,
                html=None,
            )
        )
        db.session.commit()
        log.info("SMS to %s kept in the development outbox (/dev/mail)", to)


def get_adapter() -> SmsAdapter:
    adapter: SmsAdapter = import_string(current_app.config["SMS_ADAPTER"].replace(":", "."))()
    return adapter


def queue_sms(to: str, body: str) -> None:
    """Send after the current transaction commits, from the high queue.

    The body travels in the job's arguments: never a code (jobs.auth.send_code texts those).
    """
    outbox.enqueue("jobs.auth.send_sms", to, body, queue="high")
