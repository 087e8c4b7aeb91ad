"""Test data, one factory per model (factory-boy), bound to the app's `db.session`.

Call them inside an app context; `create` (the default) commits, as a finished page would,
so a row is visible to the next request. Relations are passed as objects or as ids:
`PlanFactory(product=crm)` or `PlanFactory(product_id=crm.id)`; leave both out and one is made.

    crm = ProductFactory(name="Pipeline CRM")
    team = PlanFactory(product=crm, name="Team", price=4900)
    SubscriptionFactory(user=UserFactory(username="ada"), plan=team, status="trial")
    ProductFactory(slug="edges", plans__tiers=(("Only", 100),), plans__cycles=("monthly",))
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.auth import mfa_keys
from app.auth.passwords import hash_password
from app.billing import invoices as invoice_service
from app.billing.periods import add_cycle
from app.billing.pricing import price_line
from app.catalog.schema import with_order
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from app.models.catalog import BILLING_CYCLES, Plan, Product
from app.models.mfa import TotpFactor
from app.models.notification import Notification
from app.models.user import User
from app.rbac import role_named

DEFAULT_PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # staff users' authenticator app (tests/support/mfa.py)
_HASHES: dict[str, str] = {}
# A tier's price per cycle is its monthly price × these months (the catalog pages' shape).
CYCLE_MONTHS = {"weekly": 0.25, "monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 10}


def password_hash(password: str | None) -> str | None:
    """argon2 is slow on purpose: hash each password once per test run."""
    if password is None:
        return None
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


def _id_of(obj: Any, fallback: type[factory.Factory]) -> uuid.UUID:
    """The id of the related row given as an object, or of a new one made by `fallback`."""
    return (obj if obj is not None else fallback()).id


def _session():
    """The session of the current app context (factories are declared before any app exists)."""
    return db.session


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = _session
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    """A verified customer who signs in with DEFAULT_PASSWORD; `role="admin"` (a name) for staff.

    Staff (a role with any permission) must use a second factor, so they get an authenticator app
    with TOTP_SECRET by default (`totp=False`: without one; `totp=True`: a customer with one).
    """

    class Meta:
        model = User

    class Params:
        password = DEFAULT_PASSWORD
        verified = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password_hash = factory.LazyAttribute(lambda o: password_hash(o.password))
    role = "customer"
    email_verified_at = factory.LazyAttribute(lambda o: utcnow() if o.verified else None)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        if isinstance(kwargs.get("role"), str):
            kwargs["role"] = role_named(kwargs["role"])
        return kwargs

    @factory.post_generation
    def totp(user, create, extracted, **fields):
        wanted = bool(user.role.permissions) if extracted is None else bool(extracted)
        if create and wanted:
            secret = extracted if isinstance(extracted, str) else TOTP_SECRET
            db.session.add(TotpFactor(user_id=user.id, secret_encrypted=mfa_keys.encrypt(secret)))
            db.session.commit()


class ProductFactory(BaseFactory):
    """An active CRM product named after its slug; its schema is stored with its field order, as the admin
    page stores it.

    No plans unless asked: `plans=True` makes one "Basic" tier ($10.00 a month) on every cycle;
    `plans__tiers=((name, monthly price), …)` and `plans__cycles=(…)` choose them.
    """

    class Meta:
        model = Product

    slug = factory.Sequence(lambda n: f"product-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    category = "CRM"
    is_active = True
    product_schema = factory.LazyFunction(dict)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["product_schema"] = with_order(kwargs.get("product_schema") or {})
        return kwargs

    @factory.post_generation
    def plans(product, create, extracted, **fields):
        if not create or not (extracted or fields):
            return
        tiers = fields.pop("tiers", (("Basic", 1000),))
        cycles = fields.pop("cycles", BILLING_CYCLES)
        for order, (tier, monthly) in enumerate(tiers):
            for cycle in cycles:
                PlanFactory(
                    product_id=product.id,
                    name=tier,
                    billing_cycle=cycle,
                    price=int(monthly * CYCLE_MONTHS[cycle]),
                    features=[f"Seats: {5 * (order + 1)}", "Email support"],
                    sort_order=order,
                    **fields,
                )


class PlanFactory(BaseFactory):
    """A monthly "Team" plan at $49.00 with a 14-day trial."""

    class Meta:
        model = Plan

    class Params:
        product = None

    product_id = factory.LazyAttribute(lambda o: _id_of(o.product, ProductFactory))
    name = "Team"
    billing_cycle = "monthly"
    price = 4900
    currency = "USD"
    discount_percent = Decimal("0")
    trial_days = 14
    features = factory.LazyFunction(lambda: ["Everything"])
    is_active = True


class SubscriptionFactory(BaseFactory):
    """An active, auto-renewing card subscription whose period starts now and lasts one cycle of its plan."""

    class Meta:
        model = Subscription

    class Params:
        user = None
        plan = None

    user_id = factory.LazyAttribute(lambda o: _id_of(o.user, UserFactory))
    plan_id = factory.LazyAttribute(lambda o: _id_of(o.plan, PlanFactory))
    product_id = factory.LazyAttribute(lambda o: db.session.get(Plan, o.plan_id).product_id)
    status = "active"
    current_period_start = factory.LazyFunction(utcnow)
    started_at = factory.SelfAttribute("current_period_start")
    current_period_end = factory.LazyAttribute(
        lambda o: add_cycle(o.current_period_start, db.session.get(Plan, o.plan_id).billing_cycle)
    )
    trial_end = None
    billing_method = "card"
    auto_renew = True


class InvoiceFactory(factory.Factory):
    """A finalized bank-transfer invoice for `plan` (10 % fee), numbered by the real counter, made by the
    billing services; `status="paid"` also records the bank transfer that paid it. Only `create`s (commits)."""

    class Meta:
        model = Invoice

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    status = "open"
    now = factory.LazyFunction(utcnow)
    subscription_id = None

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("InvoiceFactory only creates: an invoice is drafted and finalized by the billing services")

    @classmethod
    def _create(cls, model_class, *, user, plan, status, now, subscription_id):
        return _issue_invoices(1, user=user, plan=plan, status=status, now=now, subscription_id=subscription_id)[0]

    @classmethod
    def create_batch(cls, size, *, user=None, plan=None, status="open", now=None, subscription_id=None):
        """`size` invoices numbered in one go and committed once (a CSV test asks for thousands)."""
        return _issue_invoices(
            size,
            user=user or UserFactory(),
            plan=plan or PlanFactory(),
            status=status,
            now=now or utcnow(),
            subscription_id=subscription_id,
        )


def _issue_invoices(count: int, *, user, plan, status: str, now, subscription_id) -> list[Invoice]:
    product = db.session.get(Product, plan.product_id)
    line = price_line(plan, product, 1, Decimal("10"))
    drafts = [
        invoice_service.draft_invoice(
            user=user,
            line=line,
            subscription_id=subscription_id,
            method="bank_transfer",
            label="Bank transfer",
            period=(now, now + timedelta(days=30)),
        )
        for _ in range(count)
    ]
    invoice_service.finalize(drafts, now=now, due_at=now + timedelta(days=14))
    if status == "paid":
        for invoice in drafts:
            tx = Transaction(
                id=uuid.uuid4(),
                user_id=user.id,
                kind="charge",
                purpose="bank_transfer",
                status="succeeded",
                amount=invoice.total,
                currency=invoice.currency,
                gateway="bank_transfer",
                idempotency_key=f"test:{invoice.id}",
                settled_at=now,
            )
            db.session.add(tx)
            db.session.flush()
            invoice_service.mark_paid(invoice, now=now, transaction_id=tx.id)
    db.session.commit()
    return drafts


class NotificationFactory(BaseFactory):
    """An unread announcement for a user, made now."""

    class Meta:
        model = Notification

    class Params:
        user = None

    user_id = factory.LazyAttribute(lambda o: _id_of(o.user, UserFactory))
    kind = "announcement"
    title = factory.Sequence(lambda n: f"Update {n}")
    body = factory.Sequence(lambda n: f"Body {n}")
    link = None
    is_read = False
    created_at = factory.LazyFunction(utcnow)
