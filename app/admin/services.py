"""What the admin pages (and the matching `flask` commands) do. Each function audits and commits.

User actions defer to app/auth/services.py, products and plans to app/catalog/services.py,
money to app/billing: the admin is one more client of those APIs. What lives here is the
staff-only part: loading the row under a lock, the checks only staff need, the audit row.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from app import audit
from app.account import erasure
from app.admin.queues import failed_job
from app.auth import mfa
from app.auth import services as auth_services
from app.auth.reset import request_password_reset
from app.billing import seller
from app.billing.seller import SellerDetails
from app.catalog import fees
from app.catalog import services as catalog
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models.catalog import Plan, PlatformFeeChange, Product
from app.models.notification import Announcement
from app.models.user import Permission, Role, User
from app.notifications import broadcast as broadcasting
from app.outbox import QUEUES, get_queue
from app.rbac import ROLES, forget_role_permissions

ROLE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
ADMIN_ROLE = "admin"


# Roles -------------------------------------------------------------------------------------------


def _permissions(names: list[str]) -> list[Permission]:
    wanted = set(names)
    found = db.session.scalars(sa.select(Permission).where(Permission.name.in_(wanted))).all()
    unknown = wanted - {p.name for p in found}
    if unknown:
        raise ValidationError({"permissions": f"Unknown permission: {', '.join(sorted(unknown))}"})
    return sorted(found, key=lambda p: p.name)


def save_role(
    role_id: int | None, *, name: str, description: str, permission_names: list[str], actor_id: uuid.UUID
) -> Role:
    """Create (role_id None) or update a role. Built-in roles keep their names; admin keeps every permission."""
    role = db.session.get(Role, role_id, with_for_update=True) if role_id else None
    if role_id and role is None:
        raise NotFound("No such role.")
    name = (name or "").strip().lower()
    description = (description or "").strip()
    if not ROLE_NAME_RE.match(name):
        raise ValidationError({"name": "Use 2–40 lower-case letters, digits, '-' or '_', starting with a letter"})
    if len(description) > 200:
        raise ValidationError({"description": "Keep the description under 200 characters"})
    permissions = _permissions(permission_names)
    clash = db.session.scalar(sa.select(Role).where(Role.name == name, Role.id != (role_id or 0)))
    if clash:
        raise ValidationError({"name": "A role with that name exists"})
    if role is not None and role.name in ROLES and name != role.name:
        raise ValidationError({"name": "Built-in roles keep their names"})
    if (
        role is not None
        and role.name == ADMIN_ROLE
        and {p.name for p in permissions} != {p.name for p in db.session.scalars(sa.select(Permission))}
    ):
        raise ValidationError({"permissions": "The admin role always has every permission"})
    before = {"name": role.name, "permissions": sorted(role.permission_names)} if role else None
    if role is None:
        role = Role(name=name, description=description, permissions=permissions)
        db.session.add(role)
    else:
        role.name, role.description, role.permissions = name, description, permissions
    db.session.flush()
    audit.record(
        "role.created" if before is None else "role.updated",
        actor_id=actor_id,
        target_type="role",
        target_id=str(role.id),
        before=before,
        after={"name": role.name, "permissions": [p.name for p in permissions]},
    )
    db.session.commit()
    forget_role_permissions(role.id)
    return role


# Users -------------------------------------------------------------------------------------------


def _user(user_id: uuid.UUID, *, lock: bool = False) -> User:
    user = db.session.get(User, user_id, with_for_update=lock)
    if user is None:
        raise NotFound("No such user.")
    return user


def change_user_role(user_id: uuid.UUID, role_id: int | None, *, actor_id: uuid.UUID) -> tuple[User, Role]:
    role = db.session.get(Role, role_id) if role_id else None
    if role is None:
        raise ValidationError({"role_id": "Choose one of the roles."})
    user = _user(user_id, lock=True)
    auth_services.change_role(user, role.name, actor_id=actor_id)
    return user, role


def set_user_active(user_id: uuid.UUID, active: bool, *, actor_id: uuid.UUID) -> User:
    """Deactivate (signed out everywhere) or reactivate an account; nothing happens if it already is."""
    user = _user(user_id, lock=True)
    if user.deleted_at is not None:
        raise Conflict("This account was deleted: its personal data is gone and it can't be reactivated.")
    if active and not user.is_active:
        auth_services.reactivate(user, actor_id=actor_id)
    elif not active and user.is_active:
        auth_services.deactivate(user, actor_id=actor_id)
    return user


def sign_out_everywhere(user_id: uuid.UUID, *, actor_id: uuid.UUID) -> tuple[User, int]:
    user = _user(user_id, lock=True)
    if not user.is_active:
        raise Conflict("This account is deactivated: it has no sessions to end.")
    return user, auth_services.sign_out_everywhere(user, actor_id=actor_id)


def delete_user(user_id: uuid.UUID, typed_username: str | None, *, actor_id: uuid.UUID) -> str:
    """Delete a customer's account from their admin page (the same erasure as /account/delete)."""
    if user_id == actor_id:
        raise Conflict("Delete your own account from your account pages.")
    return erasure.delete_account(user_id, actor_id=actor_id, typed_username=typed_username)


def reset_second_factor(user_id: uuid.UUID, *, actor_id: uuid.UUID) -> User:
    """Remove the user's authenticator app and recovery codes (they are emailed; nobody sees the secret)."""
    user = _user(user_id, lock=True)
    mfa.reset_by_staff(user, actor_id=actor_id)
    return user


def resend_verification(user_id: uuid.UUID, *, actor_id: uuid.UUID) -> User:
    user = _user(user_id)
    if user.is_verified:
        raise Conflict(f"{user.email} is already verified.")
    auth_services.send_verification_code(user)
    audit.record("user.verification_resent", actor_id=actor_id, target=user)
    db.session.commit()
    return user


def send_password_reset(user_id: uuid.UUID, *, actor_id: uuid.UUID) -> User:
    """The admin never sees or sets a password: the user gets a reset link."""
    user = _user(user_id)
    if not user.is_active:
        raise Conflict("Reactivate the account first.")
    request_password_reset(user.email)
    audit.record("user.reset_link_sent", actor_id=actor_id, target=user)
    db.session.commit()
    return user


# Platform fee and announcements ------------------------------------------------------------------


def set_fee(percent: str | Decimal, *, reason: str, actor_id: uuid.UUID | None) -> PlatformFeeChange:
    return fees.set_fee(percent, actor_id=actor_id, reason=reason)


def set_seller_details(details: SellerDetails, *, actor_id: uuid.UUID | None) -> SellerDetails:
    """The name, address and tax id printed on invoices numbered from now on."""
    return seller.set_details(details, actor_id=actor_id)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str | None = None


def check_announcement(message: Message) -> Message:
    """The announcement as it would be sent (cleaned), or a ValidationError; sends nothing."""
    return Message(*broadcasting.clean_message(message.title, message.body, message.link))


def announce(message: Message, *, product_id: uuid.UUID | None, actor_id: uuid.UUID | None) -> Announcement:
    """Announce to everyone (product_id None) or one product's subscribers."""
    if product_id is not None and db.session.get(Product, product_id) is None:
        raise ValidationError({"audience": "Choose everyone or one of the products"})
    return broadcasting.broadcast(message.title, message.body, message.link, product_id=product_id, actor_id=actor_id)


# Products and plans ------------------------------------------------------------------------------


def _product(product_id: uuid.UUID, *, lock: bool = False) -> Product:
    product = db.session.get(Product, product_id, with_for_update=lock)
    if product is None:
        raise NotFound("No such product.")
    return product


def _plan(product_id: uuid.UUID, plan_id: uuid.UUID, *, lock: bool = False) -> Plan:
    plan = db.session.get(Plan, plan_id, with_for_update=lock)
    if plan is None or plan.product_id != product_id:
        raise NotFound("No such plan.")
    return plan


@dataclass(frozen=True)
class ProductValues:
    slug: str
    name: str
    category: str
    tagline: str
    description: str
    icon: str
    schema_json: str
    is_active: bool
    access_while_paused: bool
    downgrade_timing: str = "period_end"


def save_product(product_id: uuid.UUID | None, values: ProductValues, *, actor_id: uuid.UUID) -> Product:
    """Create (product_id None) or update a product. Raises catalog.CatalogInvalid, NotFound."""
    product = _product(product_id, lock=True) if product_id else None
    fields = {name: getattr(values, name) for name in ProductValues.__dataclass_fields__}
    return catalog.save_product(product, actor_id=actor_id, **fields)


def set_product_active(product_id: uuid.UUID, active: bool, *, actor_id: uuid.UUID) -> tuple[Product, bool]:
    """(the product, whether it changed)."""
    product = _product(product_id, lock=True)
    return product, catalog.set_active(product, active, actor_id=actor_id)


def delete_product(product_id: uuid.UUID, *, actor_id: uuid.UUID) -> str:
    return catalog.delete_product(product_id, actor_id=actor_id)


@dataclass(frozen=True)
class PlanValues:
    name: str
    billing_cycle: str
    amount: str
    currency: str
    discount_percent: str
    trial_days: str
    features: list[str]
    sort_order: str
    is_active: bool


def save_plan(product_id: uuid.UUID, plan_id: uuid.UUID | None, values: PlanValues, *, actor_id: uuid.UUID) -> Plan:
    """Add (plan_id None) or edit a product's plan. Raises catalog.CatalogInvalid, NotFound."""
    product = _product(product_id)
    plan = _plan(product_id, plan_id, lock=True) if plan_id else None
    fields = {name: getattr(values, name) for name in PlanValues.__dataclass_fields__}
    if plan is None:
        return catalog.create_plan(product, actor_id=actor_id, **fields)
    return catalog.update_plan(plan, product, actor_id=actor_id, **fields)


def set_plan_active(
    product_id: uuid.UUID, plan_id: uuid.UUID, active: bool, *, actor_id: uuid.UUID
) -> tuple[Plan, bool]:
    plan = _plan(product_id, plan_id, lock=True)
    return plan, catalog.set_active(plan, active, actor_id=actor_id)


def delete_plan(product_id: uuid.UUID, plan_id: uuid.UUID, *, actor_id: uuid.UUID) -> str:
    _plan(product_id, plan_id)
    return catalog.delete_plan(plan_id, actor_id=actor_id)


# Failed jobs -------------------------------------------------------------------------------------


def _job_state(job: Job) -> dict[str, str | None]:
    return {"func": job.func_name, "queue": job.origin}


def retry_failed_job(job_id: str, *, actor_id: uuid.UUID | None) -> None:
    """Queue a failed job again (audited as job.retried)."""
    job, registry = failed_job(job_id)
    registry.requeue(job)
    audit.record("job.retried", actor_id=actor_id, target_type="job", target_id=job_id[:64], after=_job_state(job))
    db.session.commit()


def delete_failed_job(job_id: str, *, actor_id: uuid.UUID | None) -> None:
    """Delete a failed job and its data (audited as job.deleted)."""
    job, registry = failed_job(job_id)
    registry.remove(job, delete_job=True)
    audit.record("job.deleted", actor_id=actor_id, target_type="job", target_id=job_id[:64], before=_job_state(job))
    db.session.commit()


def retry_failed_jobs(queue_name: str | None = None, *, actor_id: uuid.UUID | None = None) -> int:
    """Queue every failed job (of one queue) again, each audited as the page's retry is. Returns the count."""
    count = 0
    for name in QUEUES if queue_name is None else (queue_name,):
        registry = FailedJobRegistry(queue=get_queue(name))
        for job_id in registry.get_job_ids():
            try:
                retry_failed_job(job_id, actor_id=actor_id)
            except (NotFound, NoSuchJobError):
                registry.remove(job_id)  # its data expired: nothing to retry
            else:
                count += 1
    return count
