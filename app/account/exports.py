"""Export my data (ASVS V14 data protection; GDPR art. 15/20): a JSON copy, prepared by a worker.

The page (after step-up) records a "preparing" export and queues `jobs.account.prepare_export`
with its id. The job writes the document into the row (`data_export.content`, in the database)
and emails a link valid READY_FOR (24 h). The link's token is an HMAC of the export id keyed with
SECRET_KEY, made where it is needed and never stored or queued; the download also needs the owner
signed in (another person's export id is a 404). The hourly clean-up deletes expired exports.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app import audit, outbox
from app.dates import iso_instant
from app.errors import NotFound
from app.extensions import db
from app.links import external_url
from app.mail.services import deliver_to
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from app.models.export import DataExport
from app.models.notification import Notification
from app.models.social import SocialAccount
from app.models.user import User, UserSession

log = logging.getLogger(__name__)

READY_FOR = timedelta(hours=24)
GIVE_UP_AFTER = timedelta(hours=24)  # a "preparing" row this old is purged too (its job failed for good)
MAX_AUDIT_EVENTS = 5000


def token_for(export: DataExport) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"data-export:{export.id}".encode(), hashlib.sha256).hexdigest()


def status_of(export: DataExport, now: datetime | None = None) -> str:
    """preparing, ready, expired or failed: what the page says."""
    if export.status == "ready" and export.expires_at is not None and export.expires_at <= (now or utcnow()):
        return "expired"
    return export.status


def latest(user: User) -> DataExport | None:
    return db.session.scalar(
        sa.select(DataExport).where(DataExport.user_id == user.id).order_by(DataExport.created_at.desc()).limit(1)
    )


def request_export(user: User) -> DataExport:
    """Queue a new export, unless one is being prepared already (then that one). Commits."""
    current = latest(user)
    if current is not None and current.status == "preparing":
        return current
    export = DataExport(id=uuid.uuid4(), user_id=user.id, status="preparing", created_at=utcnow())
    db.session.add(export)
    db.session.flush()
    audit.record("user.export_requested", actor_id=user.id, target=user, after={"export_id": str(export.id)})
    outbox.enqueue("jobs.account.prepare_export", str(export.id), queue="low")
    db.session.commit()
    return export


def download(user: User, export_id: uuid.UUID, token: str | None) -> tuple[DataExport, bytes]:
    """The owner's ready, unexpired export and its bytes; NotFound for anyone else's, a wrong token or expiry."""
    export = db.session.scalar(
        sa.select(DataExport)
        .options(sa.orm.undefer(DataExport.content))
        .where(DataExport.id == export_id, DataExport.user_id == user.id)
    )
    if export is None or not hmac.compare_digest(str(token or ""), token_for(export)):
        raise NotFound("There is no such export.")
    if status_of(export) != "ready" or export.content is None:
        raise NotFound("That export has expired. Ask for a new copy on the export page.")
    return export, export.content  # a GET: nothing is written (the request and its preparation are audited)


def prepare(export_id: uuid.UUID, *, key: str) -> bool:
    """In the worker: write the document and email the link. Idempotent: a retry sends the same link once."""
    export = db.session.get(DataExport, export_id, with_for_update=True)
    if export is None:
        log.info("export %s is gone; nothing to prepare", export_id)
        return False
    user = db.session.get(User, export.user_id)
    if user is None or not user.is_active:
        return False
    if export.status == "preparing":
        content = json.dumps(document(user), ensure_ascii=False, indent=2, default=str).encode()
        now = utcnow()
        export.content, export.size, export.status = content, len(content), "ready"
        export.ready_at, export.expires_at = now, now + READY_FOR
        audit.record("user.export_ready", actor_id=user.id, target=user, after={"export_id": str(export.id)})
        db.session.commit()
    if status_of(export) != "ready":
        return False
    return deliver_to(
        user,
        "export_ready",
        {
            "download_url": external_url("account.export_download", export_id=export.id, token=token_for(export)),
            "expires": iso_instant(export.expires_at),
        },
        key,
    )


def purge_expired(now: datetime | None = None) -> int:
    """Delete exports past their 24 hours, and ones never prepared. Returns how many. Commits."""
    now = now or utcnow()
    result = db.session.execute(
        sa.delete(DataExport).where(
            sa.or_(
                DataExport.expires_at <= now,
                sa.and_(DataExport.status != "ready", DataExport.created_at <= now - GIVE_UP_AFTER),
            )
        )
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def document(user: User) -> dict[str, Any]:
    """Everything we hold about `user`: profile, sign-ins, subscriptions, invoices, payments, notifications, events."""
    uid = user.id
    subscriptions = db.session.scalars(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.user_id == uid)
        .order_by(Subscription.started_at)
    ).all()
    invoices = db.session.scalars(
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.user_id == uid)
        .order_by(Invoice.created_at)
    ).all()
    return {
        "format": "multiproduct-data-export/1",
        "exported_at": utcnow().isoformat(),
        "profile": _profile(user),
        "social_sign_in": [
            {"provider": s.provider, "email": s.email, "linked_at": _when(s.created_at)}
            for s in db.session.scalars(sa.select(SocialAccount).where(SocialAccount.user_id == uid))
        ],
        "sessions": [
            {
                "started_at": _when(s.created_at),
                "last_seen_at": _when(s.last_seen_at),
                "ended_at": _when(s.revoked_at),
                "ip": s.ip,
                "device": s.device,
                "user_agent": s.user_agent,
                "remembered": s.remember,
            }
            for s in db.session.scalars(
                sa.select(UserSession).where(UserSession.user_id == uid).order_by(UserSession.created_at)
            )
        ],
        "subscriptions": [_subscription(s) for s in subscriptions],
        "invoices": [_invoice(i) for i in invoices],
        "payments": [
            {
                "kind": t.kind,
                "purpose": t.purpose,
                "status": t.status,
                "amount": t.amount,
                "currency": t.currency,
                "created_at": _when(t.created_at),
                "settled_at": _when(t.settled_at),
            }
            for t in db.session.scalars(
                sa.select(Transaction).where(Transaction.user_id == uid).order_by(Transaction.created_at)
            )
        ],
        "notifications": [
            {
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "link": n.link,
                "read": n.is_read,
                "created_at": _when(n.created_at),
            }
            for n in db.session.scalars(
                sa.select(Notification).where(Notification.user_id == uid).order_by(Notification.created_at)
            )
        ],
        "events": [
            {
                "action": e.action,
                "at": _when(e.created_at),
                "by_you": e.actor_id == uid,
                "ip": e.ip,
                "before": e.before,
                "after": e.after,
            }
            for e in db.session.scalars(
                sa.select(AuditEvent)
                .where(
                    sa.or_(
                        AuditEvent.actor_id == uid,
                        sa.and_(AuditEvent.target_type == "users", AuditEvent.target_id == str(uid)),
                    )
                )
                .order_by(AuditEvent.created_at)
                .limit(MAX_AUDIT_EVENTS)
            )
        ],
    }


def _profile(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "email_verified_at": _when(user.email_verified_at),
        "phone": user.phone,
        "phone_verified_at": _when(user.phone_verified_at),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "gender": user.gender,
        "date_of_birth": user.date_of_birth.isoformat() if user.date_of_birth else None,
        "address": user.address,
        "company": user.company,
        "tax_id": user.tax_id,
        "role": user.role.name,
        "signed_up_at": _when(user.created_at),
        "last_sign_in_at": _when(user.last_login_at),
        "password_changed_at": _when(user.password_changed_at),
    }


def _subscription(sub: Subscription) -> dict[str, Any]:
    return {
        "product": sub.product.name,
        "plan": sub.plan.name,
        "status": sub.status,
        "quantity": sub.quantity,
        "billing_method": sub.billing_method,
        "started_at": _when(sub.started_at),
        "current_period_start": _when(sub.current_period_start),
        "current_period_end": _when(sub.current_period_end),
        "trial_end": _when(sub.trial_end),
        "auto_renew": sub.auto_renew,
        "cancelled_at": _when(sub.cancelled_at),
        "ended_at": _when(sub.ended_at),
        "answers": sub.answers,
    }


def _invoice(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "discount": invoice.discount,
        "fee": invoice.fee,
        "total": invoice.total,
        "issued_at": _when(invoice.issued_at),
        "paid_at": _when(invoice.paid_at),
        "billed_to": invoice.bill_to,
        "lines": [
            {"description": line.description, "quantity": line.quantity, "amount": line.amount}
            for line in invoice.lines
        ],
    }
