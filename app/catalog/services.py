"""Write side of the catalog: every product and plan is saved through here (admin pages, CLI, demo data).

Each function checks all its input, raises `CatalogInvalid` (a 400 with a message per
field) and changes nothing when something is wrong, else saves, audits and commits.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, Unpack

import sqlalchemy as sa

from app import audit
from app.catalog.queries import SLUG_RE
from app.catalog.schema import check_schema, read_schema, with_order
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models.billing import Subscription
from app.models.catalog import BILLING_CYCLES, DOWNGRADE_TIMINGS, Plan, Product
from app.money import minor_exponent, to_major

ICON_RE = re.compile(r"^[a-z0-9-]{0,40}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_PRICE = 10**12  # minor units: ten billion dollars is surely a typo
TEXT_LIMITS = {"name": 120, "tagline": 200, "category": 60, "description": 20_000}
MAX_FEATURES, MAX_FEATURE = 40, 200
MAX_SORT_ORDER = 1000
# A plan's money terms: fixed once somebody subscribed (retire it and add a new plan instead).
TERMS = ("billing_cycle", "price", "currency", "discount_percent")


class CatalogInvalid(ValidationError):
    """Several fields can be wrong at once: `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str], *, schema_problems: list[str] | None = None):
        super().__init__(errors)
        self.schema_problems = schema_problems or []  # each of check_schema's messages, for a list under the editor


def unprintable(text: str, *, multiline: bool = False) -> bool:
    """Control characters (Postgres can't even store NUL), and in one-line text invisible ones (zero-width, bidi)."""
    for ch in text:
        kind = unicodedata.category(ch)
        if (kind == "Cc" and not (multiline and ch in "\n\r\t")) or (kind == "Cf" and not multiline):
            return True
    return False


def _text(value: object, name: str, errors: dict[str, str], *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        errors[name] = f"{name.capitalize()} is required"
    elif len(text) > TEXT_LIMITS[name]:
        errors[name] = f"{name.capitalize()} must be at most {TEXT_LIMITS[name]} characters"
    elif unprintable(text, multiline=name == "description"):
        errors[name] = f"{name.capitalize()} must not contain control or invisible characters"
    return text


def save_product(
    product: Product | None = None,
    *,
    actor_id: uuid.UUID | None = None,
    slug: str,
    name: str,
    category: str,
    tagline: str = "",
    description: str = "",
    icon: str = "",
    product_schema: dict[str, Any] | None = None,
    schema_json: str | None = None,
    is_active: bool = True,
    access_while_paused: bool | None = None,
    downgrade_timing: str | None = None,
) -> Product:
    """Create a product (`product` None) or update one. A bad schema is refused with what is wrong with it.

    `access_while_paused`: whether a paused subscription keeps access (None: leave it as it is; off for a new one).
    `downgrade_timing`: when a switch to a cheaper plan takes effect, "period_end" or "now" (None: unchanged,
    "period_end" for a new product).

    `schema_json`, when given, is the schema as an admin typed it (malformed JSON is refused with its line and
    column) and replaces `product_schema`.
    """
    errors: dict[str, str] = {}
    slug = str(slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        errors["slug"] = "Slug must be 1–80 lower-case letters, digits and dashes, not starting or ending with a dash"
    fields = {
        "name": _text(name, "name", errors),
        "category": _text(category, "category", errors),
        "tagline": _text(tagline, "tagline", errors, required=False),
        "description": _text(description, "description", errors, required=False),
    }
    icon = str(icon or "").strip()
    if not ICON_RE.match(icon):
        errors["icon"] = "Icon must be a short name of lower-case letters, digits and dashes"
    if schema_json is not None:
        schema, problems = read_schema(schema_json)
    else:
        schema = with_order(product_schema or {})
        problems = check_schema(schema)
    if problems:
        errors["product_schema"] = "The product schema is not valid: " + "; ".join(problems)
    if downgrade_timing is not None and downgrade_timing not in DOWNGRADE_TIMINGS:
        errors["downgrade_timing"] = "Choose at the end of the period or at once"
    if "slug" not in errors:
        taken = sa.select(Product.id).where(Product.slug == slug)
        if product is not None:
            taken = taken.where(Product.id != product.id)
        if db.session.scalar(taken) is not None:
            errors["slug"] = f"Another product already uses the slug “{slug}”"
    if errors:
        raise CatalogInvalid(errors, schema_problems=problems)
    before = product_state(product) if product is not None else None
    if product is None:
        product = Product()
        db.session.add(product)
    for key, value in {
        **fields,
        "slug": slug,
        "icon": icon,
        "product_schema": schema,
        "is_active": bool(is_active),
        "access_while_paused": bool(
            access_while_paused if access_while_paused is not None else product.access_while_paused
        ),
        "downgrade_timing": downgrade_timing or product.downgrade_timing or "period_end",
    }.items():
        setattr(product, key, value)
    db.session.flush()
    audit.record(
        "product.updated" if before else "product.created",
        actor_id=actor_id,
        target=product,
        before=before,
        after=product_state(product),
    )
    db.session.commit()
    return product


def product_state(product: Product) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "name": product.name,
        "category": product.category,
        "tagline": product.tagline,
        "description": product.description,
        "icon": product.icon,
        "is_active": product.is_active,
        "access_while_paused": bool(product.access_while_paused),
        "product_schema": product.product_schema,
        "downgrade_timing": product.downgrade_timing,
    }


def set_active(target: Product | Plan, active: bool, *, actor_id: uuid.UUID | None = None) -> bool:
    """Retire or restore a product or a plan. False if it already was.

    A retired product leaves the catalog, a retired plan takes no new subscriptions; existing ones go on.
    """
    if target.is_active == bool(active):
        return False
    target.is_active = bool(active)
    audit.record(
        f"{target.__tablename__}.{'restored' if active else 'retired'}",
        actor_id=actor_id,
        target=target,
        before={"is_active": not active},
        after={"is_active": bool(active)},
    )
    db.session.commit()
    return True


def subscription_counts(product_id: uuid.UUID) -> tuple[int, dict[uuid.UUID, int]]:
    """(subscriptions to the product, {plan id: subscriptions}), ever, whatever their status."""
    rows = db.session.execute(
        sa.select(Subscription.plan_id, sa.func.count())
        .where(Subscription.product_id == product_id)
        .group_by(Subscription.plan_id)
    ).all()
    per_plan = {plan_id: count for plan_id, count in rows}
    return sum(per_plan.values()), per_plan


def _delete(statements: list[sa.Delete], refusal: str) -> None:
    """Run the deletes and commit; a subscription that slipped in meanwhile trips the foreign key: refused too."""
    try:
        for statement in statements:
            db.session.execute(statement)
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(refusal) from None
    db.session.commit()


def delete_product(product_id: uuid.UUID, *, actor_id: uuid.UUID | None = None) -> str:
    """Delete a product and its plans, only if nobody ever subscribed to any of them. Returns its name."""
    # Plans first, then the product: the order in which a new subscription's foreign keys lock them,
    # so a checkout racing this delete waits for it instead of deadlocking.
    plans = list(db.session.scalars(sa.select(Plan).where(Plan.product_id == product_id).with_for_update()))
    product = db.session.get(Product, product_id, with_for_update=True)
    if product is None:
        raise NotFound("No such product.")
    refusal = f"“{product.name}” has subscriptions, so it can only be retired."
    if subscription_counts(product.id)[0]:
        raise Conflict(refusal)
    before = {**product_state(product), "plans": [plan_state(p) for p in plans]}
    audit.record("product.deleted", actor_id=actor_id, target=product, before=before)
    _delete(
        [sa.delete(Plan).where(Plan.product_id == product.id), sa.delete(Product).where(Product.id == product.id)],
        refusal,
    )
    return str(before["name"])


def parse_discount(raw: object) -> Decimal:
    try:
        value = Decimal(str(raw if raw not in (None, "") else "0").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"discount_percent": "Enter the discount as a percentage such as 15 or 12.5"}) from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValidationError({"discount_percent": "The discount must be between 0 and 100 percent"})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError({"discount_percent": "Use at most two decimal places for the discount"})
    return value.quantize(Decimal("0.01"))


def _whole(raw: object, name: str, label: str, errors: dict[str, str], *, maximum: int) -> int:
    text = str(raw).strip() if raw is not None else ""
    if isinstance(raw, bool) or not re.fullmatch(r"\d{1,13}", text):
        errors[name] = f"{label} must be a whole number, zero or more"
        return 0
    if int(text) > maximum:
        errors[name] = f"{label} must be at most {maximum}"
    return int(text)


def _amount(raw: object, currency: str, errors: dict[str, str]) -> int:
    """A price typed in the currency's major unit ("49.00") as integer minor units (4900), exactly."""
    exponent = minor_exponent(currency)
    text = str(raw).strip() if raw is not None and not isinstance(raw, bool) else ""
    if not re.fullmatch(r"\d{1,13}(\.\d{1,20})?", text):
        errors["price"] = "Enter the price as an amount such as 49 or 49.00"
        return 0
    value = Decimal(text)
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        errors["price"] = (
            f"{currency} prices have no decimals"
            if exponent == 0
            else f"{currency} prices have at most {exponent} decimal places"
        )
        return 0
    if minor > MAX_PRICE:
        errors["price"] = f"The price must be at most {to_major(MAX_PRICE, currency):,}"
    return int(minor)


class PlanTerms(TypedDict, total=False):
    """What a plan is sold on, for create_plan and update_plan (each optional; the defaults are in _plan_values)."""

    price: int | None  # minor units (4900 is $49.00)
    amount: str | Decimal | None  # or the price as typed in the major unit ("49.00")
    currency: str  # USD
    discount_percent: Decimal | str | int  # 0
    trial_days: int | str  # 0
    features: Sequence[str]  # none
    sort_order: int | str | None  # with its tier, else last


def _plan_values(
    product: Product,
    errors: dict[str, str],
    *,
    name: str,
    billing_cycle: str,
    terms: PlanTerms,
) -> dict[str, Any]:
    price, amount, sort_order = terms.get("price"), terms.get("amount"), terms.get("sort_order")
    currency, features = terms.get("currency", "USD"), terms.get("features", ())
    trial_days, discount_percent = terms.get("trial_days", 0), terms.get("discount_percent", 0)
    name = str(name or "").strip()
    if not name or len(name) > 80:
        errors["name"] = "Plan name is required (at most 80 characters)"
    elif unprintable(name):
        errors["name"] = "Plan name must not contain control or invisible characters"
    if billing_cycle not in BILLING_CYCLES:
        errors["billing_cycle"] = "Billing cycle must be one of " + ", ".join(BILLING_CYCLES)
    currency = str(currency or "").strip().upper()
    if not CURRENCY_RE.match(currency):
        errors["currency"] = "Currency must be a three-letter code such as USD"
    if amount is not None:
        price = _amount(amount, currency if "currency" not in errors else "USD", errors)
    else:
        price = _whole(price, "price", "Price", errors, maximum=MAX_PRICE)
    trial_days = _whole(trial_days, "trial_days", "Trial days", errors, maximum=365)
    try:
        discount = parse_discount(discount_percent)
    except ValidationError as exc:
        errors["discount_percent"], discount = exc.message, Decimal(0)
    if (
        isinstance(features, str)
        or not all(
            isinstance(f, str) and 0 < len(f.strip()) <= MAX_FEATURE and not unprintable(f.strip()) for f in features
        )
        or len(features) > MAX_FEATURES
    ):
        errors["features"] = (
            f"Features must be a list of up to {MAX_FEATURES} lines of at most {MAX_FEATURE} characters"
        )
    if sort_order is None or sort_order == "":
        sort_order = _next_position(product, name) if "name" not in errors else 0
    else:
        sort_order = _whole(sort_order, "sort_order", "Position", errors, maximum=MAX_SORT_ORDER)
    return {
        "name": name,
        "billing_cycle": billing_cycle,
        "price": price,
        "currency": currency,
        "discount_percent": discount,
        "trial_days": trial_days,
        "features": [f.strip() for f in features] if "features" not in errors else [],
        "sort_order": sort_order,
    }


def _next_position(product: Product, name: str) -> int:
    """A new plan sits with its tier (same name on another cycle), else after the others."""
    same, last = db.session.execute(
        sa.select(sa.func.min(Plan.sort_order).filter(Plan.name == name), sa.func.max(Plan.sort_order)).where(
            Plan.product_id == product.id
        )
    ).one()
    return same if same is not None else (last + 1 if last is not None else 0)


def plan_state(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "billing_cycle": plan.billing_cycle,
        "price": plan.price,
        "currency": plan.currency,
        "discount_percent": str(plan.discount_percent),
        "trial_days": plan.trial_days,
        "features": list(plan.features or []),
        "is_active": plan.is_active,
        "sort_order": plan.sort_order,
    }


def create_plan(
    product: Product,
    *,
    actor_id: uuid.UUID | None = None,
    name: str,
    billing_cycle: str,
    is_active: bool = True,
    **terms: Unpack[PlanTerms],
) -> Plan:
    """Add a plan to `product`: `price` in minor units (4900 is $49.00), or `amount` as typed ("49.00")."""
    errors: dict[str, str] = {}
    values = _plan_values(product, errors, name=name, billing_cycle=billing_cycle, terms=terms)
    if errors:
        raise CatalogInvalid(errors)
    plan = Plan(product_id=product.id, is_active=bool(is_active), **values)
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.created", actor_id=actor_id, target=plan, after={"product": product.slug, **plan_state(plan)})
    db.session.commit()
    return plan


def update_plan(
    plan: Plan,
    product: Product,
    *,
    actor_id: uuid.UUID | None = None,
    name: str,
    billing_cycle: str,
    is_active: bool = True,
    **terms: Unpack[PlanTerms],
) -> Plan:
    """Change a plan. Its money terms stay as they are once anybody subscribed to it."""
    errors: dict[str, str] = {}
    if terms.get("sort_order") in (None, ""):
        terms["sort_order"] = plan.sort_order
    values = _plan_values(product, errors, name=name, billing_cycle=billing_cycle, terms=terms)
    if subscription_counts(product.id)[1].get(plan.id):
        for key in TERMS:
            if key not in errors and values[key] != getattr(plan, key):
                errors[key] = (
                    "People subscribed on these terms: retire this plan and add a new one "
                    "to change its cycle, price, currency or discount"
                )
    if errors:
        raise CatalogInvalid(errors)
    before = plan_state(plan)
    for key, value in {**values, "is_active": bool(is_active)}.items():
        setattr(plan, key, value)
    audit.record(
        "plan.updated",
        actor_id=actor_id,
        target=plan,
        before=before,
        after={"product": product.slug, **plan_state(plan)},
    )
    db.session.commit()
    return plan


def delete_plan(plan_id: uuid.UUID, *, actor_id: uuid.UUID | None = None) -> str:
    """Delete a plan nobody ever subscribed to (one with subscriptions can only be retired). Returns its name."""
    plan = db.session.get(Plan, plan_id, with_for_update=True)
    if plan is None:
        raise NotFound("No such plan.")
    refusal = f"The plan “{plan.name}” has subscriptions, so it can only be retired."
    if db.session.scalar(sa.select(Subscription.id).where(Subscription.plan_id == plan.id).limit(1)) is not None:
        raise Conflict(refusal)
    before = plan_state(plan)
    audit.record("plan.deleted", actor_id=actor_id, target=plan, before=before)
    _delete([sa.delete(Plan).where(Plan.id == plan.id)], refusal)
    return str(before["name"])
