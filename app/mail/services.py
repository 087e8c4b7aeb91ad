"""Email: render from templates/email/, queue through the outbox, deliver over SMTP.

The payload a `send_email` job carries is everything the message needs
(recipient, names, amounts, links, times as UTC ISO instants), so delivering
makes no query beyond the recipient's time zone (times are shown on their
clock, whoever's request queued the message) and recording the send. Codes
and reset links are never in a payload: their jobs (jobs/auth.py) make them in
the worker and hand the message to `deliver`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
import jinja2
import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app import links, outbox
from app.dates import shown_in
from app.extensions import db
from app.mail.kinds import queue_for
from app.models.base import utcnow
from app.models.mail import DevMail, SentEmail
from app.models.user import User
from app.observability import redact
from app.redis_client import get_redis
from app.timezones import zone_of

log = logging.getLogger(__name__)

# Styles go onto each element (clients that strip <style> keep the design); the
# @media rules (dark mode, small screens) stay in <style>. Never fetch anything.
_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def _strict_env() -> jinja2.Environment:
    env: jinja2.Environment | None = current_app.extensions.get("email_jinja")
    if env is None:
        env = current_app.extensions["email_jinja"] = current_app.jinja_env.overlay(undefined=jinja2.StrictUndefined)
    return env


def render_email(template: str, context: dict[str, Any], zone: ZoneInfo | None = None) -> tuple[str, str, str]:
    """Return (subject, text, html) for templates/email/<template>.{txt,html}, times on `zone`'s clock (None: UTC).

    StrictUndefined: a missing variable is an error, never a blank in a customer's inbox.
    """
    env = _strict_env()
    ctx = {"site_name": current_app.config["SITE_NAME"], "base_url": links.base_url(), **context}
    with shown_in(zone):
        subject_tpl = env.get_template(f"email/{template}.subject.txt")
        subject = " ".join(subject_tpl.render(ctx).split())
        text = env.get_template(f"email/{template}.txt").render(ctx)
        html = _inliner.inline(env.get_template(f"email/{template}.html").render(ctx))
    return subject, text, html


def queue_email(
    to: str,
    template: str,
    context: dict[str, Any],
    *,
    queue: str | None = None,
    user_id: uuid.UUID | None = None,
) -> None:
    """Send after the current transaction commits (through the outbox). `user_id`, the recipient's
    account when there is one: the message shows times in their zone."""
    render_email(template, context)  # fail now, in the caller, on a bad template or context
    message = {"to": to, "template": template, "context": context}
    if user_id is not None:
        message["user_id"] = str(user_id)
    outbox.enqueue("jobs.email.send_email", message, queue=queue or queue_for(template))


def deliver_to(user: User, template: str, context: dict[str, Any], idempotency_key: str) -> bool:
    """`deliver` to an account's own address, greeted by name, with times on its clock."""
    message = {"to": user.email, "user_id": str(user.id), "template": template}
    return deliver({**message, "context": {"name": user.display_name, **context}}, idempotency_key)


def deliver(message: dict[str, Any], idempotency_key: str) -> bool:
    """Send one message once. Returns False when the key was already sent.

    The "sending" record, with the Message-ID, is committed before the SMTP call,
    and the call is made holding that row's lock (a concurrent delivery of the same
    key waits, then finds it sent). Once the server has accepted the message, a
    Redis marker says so until "sent" is committed: if the database fails in
    between, the retry finds the marker and records the send without sending again.
    If the marker is gone too (the worker died in between), the retry sends again
    with the same Message-ID, which mail clients fold into one message.
    """
    key = idempotency_key
    record = db.session.get(SentEmail, key)
    if _sent_already(record):
        return False
    kind = message["template"]
    subject, text, html = render_email(kind, message["context"], zone_of(message.get("user_id")))
    retry = record is not None or not _claim(key, message["to"], kind, subject)
    record = db.session.scalar(
        sa.select(SentEmail)
        .where(SentEmail.idempotency_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if _sent_already(record):
        db.session.rollback()
        return False
    if record is None:  # _claim, or the delivery that beat it to the row, committed it
        raise LookupError(f"email {key}: the sending record is missing")
    cfg = current_app.config
    if retry and _accepted_earlier(key):
        log.info("email %s: the server accepted it on an earlier attempt; recording it as sent", key)
    elif cfg.get("MAIL_SERVER"):
        _smtp_send(
            build_message(message["to"], subject, text, html, key, record.message_id or message_id_for(key, kind))
        )
        _mark_accepted(key)
    if cfg.get("DEV_MAIL_OUTBOX"):
        db.session.add(
            DevMail(
                to=message["to"], sender=cfg["MAIL_DEFAULT_SENDER"], subject=subject, kind=kind, text=text, html=html
            )
        )
    record.status, record.sent_at = "sent", utcnow()
    db.session.commit()
    _forget_accepted(key)
    return True


def _sent_already(record: SentEmail | None) -> bool:
    if record is not None and record.status == "sent":
        log.info("email %s already sent; skipping", record.idempotency_key)
        return True
    return False


def _claim(key: str, to: str, kind: str, subject: str) -> bool:
    """Commit the "sending" record (and so the Message-ID) before anything leaves. False if another got there first."""
    # Subjects may carry the code ("Your sign-in code: 123456"); the record keeps no secret.
    db.session.add(
        SentEmail(
            idempotency_key=key,
            to=to,
            subject=redact(subject)[:300],
            kind=kind,
            status="sending",
            message_id=message_id_for(key, kind),
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent delivery claimed it; its row lock makes us wait for its outcome
        return False
    return True


def message_id_for(key: str, kind: str) -> str:
    """<outbox-123.kind.nonce@mail-domain>: named after the outbox message, stored before the first attempt.

    The nonce keeps it unique across databases and installations sending from the same domain.
    """
    domain = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2] or "localhost"
    local = ".".join(_ATOM_UNSAFE.sub("-", part) for part in (key, kind, secrets.token_hex(6)))
    return f"<{local}@{domain}>"


_ATOM_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_ACCEPTED_TTL = 30 * 86400  # as long as a failed job can wait for an admin's retry


def _accepted_key(key: str) -> str:
    return f"mail:accepted:{key}"


def _accepted_earlier(key: str) -> bool:
    try:
        return bool(get_redis().exists(_accepted_key(key)))
    except redis.RedisError as exc:
        log.warning("email %s: could not ask Redis whether it was accepted before (%s)", key, exc)
        return False


def _mark_accepted(key: str) -> None:
    try:
        get_redis().set(_accepted_key(key), 1, ex=_ACCEPTED_TTL)
    except redis.RedisError as exc:  # a retry would then resend, with the same Message-ID
        log.warning("email %s: accepted, but Redis did not keep the marker (%s)", key, exc)


def _forget_accepted(key: str) -> None:
    with contextlib.suppress(redis.RedisError):  # it expires by itself
        get_redis().delete(_accepted_key(key))


def build_message(to: str, subject: str, text: str, html: str, key: str, message_id: str) -> EmailMessage:
    cfg = current_app.config
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg["MAIL_DEFAULT_SENDER"]
    msg["To"] = formataddr(("", to)) if "<" not in to else to
    msg["Message-ID"] = message_id
    msg["X-Idempotency-Key"] = key
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _smtp_send(msg: EmailMessage) -> None:
    cfg = current_app.config
    timeout = cfg["MAIL_TIMEOUT"]
    smtp: smtplib.SMTP
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(
            cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
    with smtp:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)
