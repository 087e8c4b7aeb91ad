"""What the admin pages read: one function per page section, read-only (the services write)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload, selectinload
from sqlalchemy.sql import visitors

from app.admin.listing import like_pattern, people_pattern
from app.billing import seller
from app.billing.seller import SellerDetails
from app.errors import NotFound
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import Invoice, Subscription, Transaction
from app.models.catalog import BILLING_CYCLES, Plan, PlatformFee, PlatformFeeChange, Product
from app.models.notification import Announcement
from app.models.user import Permission, Role, User, UserSession

if TYPE_CHECKING:
    from app.admin.listing import Rows

# Users -------------------------------------------------------------------------------------------

USER_STATUSES = ("active", "inactive", "unverified")


def roles() -> Sequence[Role]:
    return db.session.scalars(sa.select(Role).order_by(Role.name)).all()


def users(*, q: str = "", role: str = "", status: str = "") -> sa.Select[User]:
    """Users matching a search (email, username or phone), a role name and a status."""
    query = sa.select(User).join(Role)
    if q:
        pattern = people_pattern(q)
        query = query.where(
            sa.or_(User.email.like(pattern), User.username.like(pattern), User.phone.like(like_pattern(q)))
        )
    if role:
        query = query.where(Role.name == role)
    if status == "active":
        query = query.where(User.is_active.is_(True))
    elif status == "inactive":
        query = query.where(User.is_active.is_(False))
    elif status == "unverified":
        query = query.where(User.email_verified_at.is_(None))
    return query


@dataclass
class UserDetail:
    user: User
    sessions: Sequence[UserSession]
    subscriptions: Sequence[Subscription]
    trail: Sequence[AuditEvent]
    roles: Sequence[Role]


def user_detail(user_id: uuid.UUID) -> UserDetail:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    sessions = db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    subscriptions = db.session.scalars(
        sa.select(Subscription)
        .where(Subscription.user_id == user.id)
        .options(joinedload(Subscription.plan), joinedload(Subscription.product))
        .order_by(Subscription.created_at.desc())
        .limit(50)
    ).all()
    trail = db.session.scalars(
        sa.select(AuditEvent)
        .where(sa.or_(AuditEvent.actor_id == user.id, AuditEvent.target_id == str(user.id)))
        .order_by(AuditEvent.created_at.desc())
        .limit(30)
    ).all()
    return UserDetail(user=user, sessions=sessions, subscriptions=subscriptions, trail=trail, roles=roles())


# Roles -------------------------------------------------------------------------------------------


def roles_by_id() -> Sequence[Role]:
    return db.session.scalars(sa.select(Role).order_by(Role.id)).all()


def members_per_role() -> dict[int, int]:
    rows = db.session.execute(sa.select(User.role_id, sa.func.count()).group_by(User.role_id)).all()
    return {role_id: count for role_id, count in rows}


def role(role_id: int) -> Role:
    found = db.session.get(Role, role_id)
    if found is None:
        raise NotFound("No such role.")
    return found


def permissions() -> Sequence[Permission]:
    return db.session.scalars(sa.select(Permission).order_by(Permission.name)).all()


# Platform fee ------------------------------------------------------------------------------------


@dataclass
class FeePage:
    current: PlatformFee | None
    updated_by: User | None
    history: Sequence[tuple[PlatformFeeChange, str | None]]
    seller: SellerDetails


def fee_page() -> FeePage:
    current = db.session.get(PlatformFee, 1)
    history = db.session.execute(
        sa.select(PlatformFeeChange, User.username)
        .outerjoin(User, User.id == PlatformFeeChange.changed_by_id)
        .order_by(PlatformFeeChange.changed_at.desc())
        .limit(50)
    ).all()
    updated_by = db.session.get(User, current.updated_by_id) if current and current.updated_by_id else None
    return FeePage(
        current=current,
        updated_by=updated_by,
        history=[(c, name) for c, name in history],
        seller=seller.current(),
    )


# Products, plans, announcements ------------------------------------------------------------------


def product_choices() -> list[tuple[str, str]]:
    """(id, name) of every product, by name: the audience and filter choices."""
    rows = db.session.execute(sa.select(Product.id, Product.name).order_by(Product.name)).all()
    return [(str(pid), name) for pid, name in rows]


def recent_announcements(limit: int = 20) -> Sequence[Announcement]:
    return db.session.scalars(sa.select(Announcement).order_by(Announcement.created_at.desc()).limit(limit)).all()


def product(product_id: uuid.UUID) -> Product:
    found = db.session.get(Product, product_id)
    if found is None:
        raise NotFound("No such product.")
    return found


def plan(product_id: uuid.UUID, plan_id: uuid.UUID) -> Plan:
    found = db.session.get(Plan, plan_id)
    if found is None or found.product_id != product_id:
        raise NotFound("No such plan.")
    return found


def categories() -> Sequence[str]:
    return db.session.scalars(sa.select(Product.category).distinct().order_by(Product.category)).all()


def plans_of(product_id: uuid.UUID) -> Sequence[Plan]:
    cycle_order = sa.case({c: n for n, c in enumerate(BILLING_CYCLES)}, value=Plan.billing_cycle)
    return db.session.scalars(
        sa.select(Plan).where(Plan.product_id == product_id).order_by(Plan.sort_order, Plan.name, cycle_order)
    ).all()


PRODUCT_STATUSES = ("active", "retired")


def _per_product(*conditions: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
    return sa.select(sa.func.count()).where(*conditions).correlate(Product).scalar_subquery()


# Counted in the page query itself, so a page of 25 products costs one statement, not 26.
PLANS = _per_product(Plan.product_id == Product.id).label("plans")
LIVE_PLANS = _per_product(Plan.product_id == Product.id, Plan.is_active.is_(True)).label("live_plans")
SUBSCRIPTIONS = _per_product(Subscription.product_id == Product.id).label("subscriptions")
PRODUCT_SORTS: dict[str, Any] = {
    "name": sa.func.lower(Product.name),
    "category": sa.func.lower(Product.category),
    "plans": PLANS,
    "subscriptions": SUBSCRIPTIONS,
    "updated_at": Product.updated_at,
}


def products(*, q: str = "", category: str = "", status: str = "") -> sa.Select[Product, int, int, int]:
    """Products with their plan, live-plan and subscription counts, matching a search, a category, a status."""
    query = sa.select(Product, PLANS, LIVE_PLANS, SUBSCRIPTIONS).options(
        defer(Product.description, raiseload=True), defer(Product.product_schema, raiseload=True)
    )
    if q:
        pattern = like_pattern(q.lower())
        columns = (Product.name, Product.slug, Product.tagline)
        query = query.where(sa.or_(*(sa.func.lower(column).like(pattern, escape="\\") for column in columns)))
    if category:
        query = query.where(Product.category == category)
    if status:
        query = query.where(Product.is_active.is_(status == "active"))
    return query


# Subscriptions and invoices ----------------------------------------------------------------------


@dataclass
class SubscriptionDetail:
    sub: Subscription
    user: User
    product: Product
    plan: Plan
    invoices: Sequence[Invoice]


def subscription_detail(subscription_id: uuid.UUID) -> SubscriptionDetail:
    row = db.session.execute(
        sa.select(Subscription, User, Product, Plan)
        .join(User, User.id == Subscription.user_id)
        .join(Product, Product.id == Subscription.product_id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.id == subscription_id)
    ).first()
    if row is None:
        raise NotFound("No such subscription.")
    invoices = db.session.scalars(
        sa.select(Invoice)
        .where(Invoice.subscription_id == subscription_id)
        .order_by(Invoice.issued_at.desc().nulls_last())
        .limit(50)
    ).all()
    sub, user, product_row, plan_row = row
    return SubscriptionDetail(sub=sub, user=user, product=product_row, plan=plan_row, invoices=invoices)


def invoice(invoice_id: uuid.UUID) -> Invoice:
    found: Invoice | None = db.session.scalar(
        sa.select(Invoice).options(selectinload(Invoice.lines)).where(Invoice.id == invoice_id)
    )
    if found is None:
        raise NotFound("No such invoice.")
    return found


@dataclass
class InvoiceDetail:
    invoice: Invoice
    customer: User | None
    original: Invoice | None
    credit_notes: list[Invoice] = field(default_factory=list)
    transactions: Sequence[Transaction] = ()

    @property
    def refunded(self) -> int:
        """Given back: the credit notes whose refund has gone through."""
        return sum(note.total for note in self.credit_notes if note.status == "paid")

    @property
    def refunding(self) -> int:
        """On its way back: refunds sent (or being sent) that the gateway hasn't confirmed yet."""
        return sum(note.total for note in self.credit_notes if note.status in ("draft", "open"))

    @property
    def remaining(self) -> int:
        """What is left to refund of a paid invoice."""
        paid = self.invoice.total if self.invoice.status == "paid" else 0
        return max(paid - self.refunded - self.refunding, 0)


def invoice_detail(invoice_id: uuid.UUID) -> InvoiceDetail:
    """The invoice with its lines, its customer, what it credits or is credited by, and its payments."""
    found = invoice(invoice_id)
    related = db.session.scalars(
        sa.select(Invoice)
        .where(sa.or_(Invoice.original_invoice_id == found.id, Invoice.id == found.original_invoice_id))
        .order_by(Invoice.issued_at)
    ).all()
    transactions: Sequence[Transaction] = ()
    if found.transaction_id:
        transactions = db.session.scalars(
            sa.select(Transaction)
            .where(sa.or_(Transaction.id == found.transaction_id, Transaction.parent_id == found.transaction_id))
            .order_by(Transaction.created_at)
        ).all()
    return InvoiceDetail(
        invoice=found,
        customer=db.session.get(User, found.user_id),
        original=next((i for i in related if i.id == found.original_invoice_id), None),
        credit_notes=[i for i in related if i.original_invoice_id == found.id],
        transactions=transactions,
    )


def original_number(found: Invoice) -> str | None:
    """The number of the invoice a credit note credits."""
    if not found.original_invoice_id:
        return None
    return db.session.scalar(sa.select(Invoice.number).where(Invoice.id == found.original_invoice_id))


def invoices_paid_by(transaction_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[uuid.UUID, str | None]]]:
    """The invoices each transaction paid (or credit notes it refunded): one query for the page."""
    grouped: dict[uuid.UUID, list[tuple[uuid.UUID, str | None]]] = {}
    if transaction_ids:
        for tid, iid, number in db.session.execute(
            sa.select(Invoice.transaction_id, Invoice.id, Invoice.number)
            .where(Invoice.transaction_id.in_(transaction_ids))
            .order_by(Invoice.number)
        ):
            if tid is not None:
                grouped.setdefault(tid, []).append((iid, number))
    return grouped


# Subscription, invoice and transaction lists ----------------------------------------------------


@dataclass(frozen=True)
class BillingFilters:
    """A money list's filters, already checked: a search, a status, a kind, issued/created dates (inclusive)."""

    q: str = ""
    status: str = ""
    kind: str = ""
    start: date | None = None
    end: date | None = None
    product_id: uuid.UUID | None = None

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments (for sort, page and CSV links)."""
        values = {
            "q": self.q,
            "status": self.status,
            "kind": self.kind,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "product": str(self.product_id) if self.product_id else "",
        }
        return {name: value for name, value in values.items() if value}


SUBSCRIPTION_SORTS: dict[str, Any] = {
    "started_at": Subscription.started_at,
    "status": Subscription.status,
    "period_end": Subscription.current_period_end,
    "user": User.username,
    "product": Product.name,
}
INVOICE_SORTS: dict[str, Any] = {
    "issued_at": Invoice.issued_at,
    "number": Invoice.number,
    "total": Invoice.total,
    "status": Invoice.status,
    "due_at": Invoice.due_at,
    "user": User.username,
}
TRANSACTION_SORTS: dict[str, Any] = {
    "created_at": Transaction.created_at,
    "amount": Transaction.amount,
    "status": Transaction.status,
    "user": User.username,
}


def _user_search(query: Rows, q: str, *more: Any) -> Rows:
    if not q:
        return query
    pattern = people_pattern(q)
    return query.where(sa.or_(User.email.like(pattern), User.username.like(pattern), *(c.like(pattern) for c in more)))


def _status_kind_dates(query: Rows, model: Any, filters: BillingFilters, column: Any) -> Rows:
    if filters.status:
        query = query.where(model.status == filters.status)
    if filters.kind:
        query = query.where(model.kind == filters.kind)
    if filters.start:
        query = query.where(column >= datetime.combine(filters.start, time.min, UTC))
    if filters.end:
        query = query.where(column < datetime.combine(filters.end + timedelta(days=1), time.min, UTC))
    return query


def subscriptions(filters: BillingFilters) -> Rows:
    """(subscription, user, product, plan) rows for a search by customer, a status and a product."""
    query = (
        sa.select(Subscription, User, Product, Plan)
        .join(User, User.id == Subscription.user_id)
        .join(Product, Product.id == Subscription.product_id)
        .join(Plan, Plan.id == Subscription.plan_id)
    )
    query = _user_search(query, filters.q)
    if filters.status:
        query = query.where(Subscription.status == filters.status)
    if filters.product_id:
        query = query.where(Subscription.product_id == filters.product_id)
    return query


def invoices(filters: BillingFilters) -> Rows:
    """(invoice, user) rows for a search by customer or number, a status, a kind and the issue dates."""
    query = _user_search(
        sa.select(Invoice, User).join(User, User.id == Invoice.user_id), filters.q, sa.func.lower(Invoice.number)
    )
    return _status_kind_dates(query, Invoice, filters, Invoice.issued_at)


def transactions(filters: BillingFilters) -> Rows:
    """(transaction, user) rows for a search by customer, a status, a kind and the dates."""
    query = _user_search(sa.select(Transaction, User).join(User, User.id == Transaction.user_id), filters.q)
    return _status_kind_dates(query, Transaction, filters, Transaction.created_at)


def count_without_user_join(query: Rows, model: Any) -> Rows | None:
    """COUNT over `model` alone when no filter needs the users table (most list views).

    The joined count touches a user row for every invoice; with 200,000 invoices that was most
    of the page's time. None: the filters need the join, count the full query.
    """
    where = query.whereclause
    if where is not None and any(
        isinstance(element, sa.Column) and element.table is User.__table__ for element in visitors.iterate(where)
    ):
        return None
    count = sa.select(sa.func.count()).select_from(model)
    return count.where(where) if where is not None else count


# Audit -------------------------------------------------------------------------------------------


AUDIT_SORTS: dict[str, Any] = {"created_at": AuditEvent.created_at, "action": AuditEvent.action}


def audit_events(*, actor: str = "", action: str = "", start: date | None = None, end: date | None = None) -> Rows:
    """(event, actor's username, actor's email) rows, by actor (email or username), action and dates."""
    query = sa.select(AuditEvent, User.username, User.email).outerjoin(User, User.id == AuditEvent.actor_id)
    if actor:
        pattern = people_pattern(actor)
        query = query.where(sa.or_(User.email.like(pattern), User.username.like(pattern)))
    if action:
        query = query.where(AuditEvent.action == action)
    if start:
        query = query.where(AuditEvent.created_at >= datetime.combine(start, time.min, UTC))
    if end:
        query = query.where(AuditEvent.created_at < datetime.combine(end + timedelta(days=1), time.min, UTC))
    return query


def audit_actions() -> Sequence[str]:
    return db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()


@dataclass(frozen=True)
class AuditTarget:
    """What an audit event's target is called now (a username, an invoice number …), and its amount."""

    label: str
    amount: int | None = None
    currency: str = "USD"
    product_id: uuid.UUID | None = None


def _uuids(ids: set[str]) -> list[uuid.UUID]:
    found = []
    for value in ids:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found


def audit_targets(events: Sequence[AuditEvent]) -> dict[tuple[str, str], AuditTarget]:
    """The targets of a page of audit events, looked up with one query per kind of target."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.target_type and event.target_id:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
    found: dict[tuple[str, str], AuditTarget] = {}
    if ids := _uuids(wanted.get("users", set())):
        for user in db.session.scalars(sa.select(User).where(User.id.in_(ids))):
            found["users", str(user.id)] = AuditTarget(user.username)
    if ids := _uuids(wanted.get("invoice", set())):
        for inv in db.session.scalars(sa.select(Invoice).where(Invoice.id.in_(ids))):
            found["invoice", str(inv.id)] = AuditTarget(inv.number or "draft invoice", inv.total, inv.currency)
    if ids := _uuids(wanted.get("subscription", set())):
        rows = db.session.execute(
            sa.select(Subscription.id, Product.name, User.username)
            .join(Product, Product.id == Subscription.product_id)
            .join(User, User.id == Subscription.user_id)
            .where(Subscription.id.in_(ids))
        )
        for sub_id, product_name, username in rows:
            found["subscription", str(sub_id)] = AuditTarget(f"{username}'s {product_name} subscription")
    if ids := _uuids(wanted.get("product", set())):
        for product in db.session.scalars(sa.select(Product).where(Product.id.in_(ids))):
            found["product", str(product.id)] = AuditTarget(product.name)
    if ids := _uuids(wanted.get("plan", set())):
        for plan in db.session.scalars(sa.select(Plan).where(Plan.id.in_(ids)).options(joinedload(Plan.product))):
            found["plan", str(plan.id)] = AuditTarget(f"{plan.product.name} {plan.name}", product_id=plan.product_id)
    if role_ids := [int(i) for i in wanted.get("role", set()) if i.isdigit()]:
        for role in db.session.scalars(sa.select(Role).where(Role.id.in_(role_ids))):
            found["role", str(role.id)] = AuditTarget(role.name)
    return found
