"""Email: render from templates/email/, queue through the outbox, deliver over SMTP.

The payload a job carries is everything the message needs (recipient, names,
amounts, links), so delivering makes no query beyond recording the send.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import css_inline
import jinja2
import sqlalchemy as sa
from flask import current_app

from app import links, outbox
from app.extensions import db
from app.mail.kinds import queue_for
from app.models.mail import DevMail, SentEmail

log = logging.getLogger(__name__)

# Styles go onto each element (clients that strip <style> keep the design); the
# @media rules (dark mode, small screens) stay in <style>. Never fetch anything.
_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def _strict_env() -> jinja2.Environment:
    app = current_app._get_current_object()
    env = app.extensions.get("email_jinja")
    if env is None:
        env = app.jinja_env.overlay(undefined=jinja2.StrictUndefined)
        app.extensions["email_jinja"] = env
    return env


def render_email(template: str, context: dict) -> tuple[str, str, str]:
    """Return (subject, text, html) for templates/email/<template>.{txt,html}.

    StrictUndefined: a missing variable is an error, never a blank in a customer's inbox.
    """
    env = _strict_env()
    ctx = {"site_name": current_app.config["SITE_NAME"], "base_url": links.base_url(), **context}
    subject_tpl = env.get_template(f"email/{template}.subject.txt")
    subject = " ".join(subject_tpl.render(ctx).split())
    text = env.get_template(f"email/{template}.txt").render(ctx)
    html = _inliner.inline(env.get_template(f"email/{template}.html").render(ctx))
    return subject, text, html


def queue_email(to: str, template: str, context: dict, *, queue: str | None = None) -> None:
    """Send after the current transaction commits (through the outbox)."""
    render_email(template, context)  # fail now, in the caller, on a bad template or context
    outbox.enqueue(
        "jobs.email.send_email",
        {"to": to, "template": template, "context": context},
        queue=queue or queue_for(template),
    )


def deliver(message: dict, idempotency_key: str) -> bool:
    """Send one message once. Returns False when the key was already sent."""
    if db.session.get(SentEmail, idempotency_key) is not None:
        log.info("email %s already sent; skipping", idempotency_key)
        return False
    _lock(idempotency_key)
    if db.session.get(SentEmail, idempotency_key) is not None:
        db.session.rollback()
        return False
    subject, text, html = render_email(message["template"], message["context"])
    cfg = current_app.config
    if cfg.get("MAIL_SERVER"):
        _smtp_send(message["to"], subject, text, html, idempotency_key)
    if cfg.get("DEV_MAIL_OUTBOX"):
        db.session.add(DevMail(to=message["to"], sender=cfg["MAIL_DEFAULT_SENDER"], subject=subject,
                               text=text, html=html))
    db.session.add(SentEmail(idempotency_key=idempotency_key, to=message["to"], subject=subject[:300]))
    db.session.commit()
    return True


def _lock(key: str) -> None:
    """Serialize concurrent deliveries of one key (Postgres; SQLite runs one writer anyway)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def build_message(to: str, subject: str, text: str, html: str, key: str) -> EmailMessage:
    cfg = current_app.config
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg["MAIL_DEFAULT_SENDER"]
    msg["To"] = formataddr(("", to)) if "<" not in to else to
    msg["Message-ID"] = make_msgid(idstring=key.replace("-", ""), domain="multiproduct.local")
    msg["X-Idempotency-Key"] = key
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _smtp_send(to: str, subject: str, text: str, html: str, key: str) -> None:
    cfg = current_app.config
    msg = build_message(to, subject, text, html, key)
    timeout = cfg["MAIL_TIMEOUT"]
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
    with smtp:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)
