"""Write side of the catalog: every product and plan is saved through here (admin pages, CLI, demo data).

Each function checks all its input, raises `CatalogInvalid` (a 400 with a message per
field) and changes nothing when something is wrong, else saves, audits and commits.
"""
from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from app import audit
from app.catalog.queries import SLUG_RE
from app.catalog.schema import check_schema, with_order
from app.errors import ValidationError
from app.extensions import db
from app.models.catalog import BILLING_CYCLES, Plan, Product

ICON_RE = re.compile(r"^[a-z0-9-]{0,40}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_PRICE = 10**12  # minor units: ten billion dollars is surely a typo
TEXT_LIMITS = {"name": 120, "tagline": 200, "category": 60, "description": 20_000}
MAX_FEATURES, MAX_FEATURE = 40, 200


class CatalogInvalid(ValidationError):
    """Several fields can be wrong at once: `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()), field=next(iter(errors)))


def _text(value, name: str, errors: dict, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        errors[name] = f"{name.capitalize()} is required"
    elif len(text) > TEXT_LIMITS[name]:
        errors[name] = f"{name.capitalize()} must be at most {TEXT_LIMITS[name]} characters"
    return text


def save_product(product: Product | None = None, *, actor_id: uuid.UUID | None = None, slug, name, category,
                 tagline="", description="", icon="", product_schema=None, is_active: bool = True) -> Product:
    """Create a product (`product` None) or update one. A bad schema is refused with what is wrong with it."""
    errors: dict[str, str] = {}
    slug = str(slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        errors["slug"] = "Slug must be 1–80 lower-case letters, digits and dashes, not starting or ending with a dash"
    fields = {"name": _text(name, "name", errors), "category": _text(category, "category", errors),
              "tagline": _text(tagline, "tagline", errors, required=False),
              "description": _text(description, "description", errors, required=False)}
    icon = str(icon or "").strip()
    if not ICON_RE.match(icon):
        errors["icon"] = "Icon must be a short name of lower-case letters, digits and dashes"
    schema = with_order(product_schema or {})
    problems = check_schema(schema)
    if problems:
        errors["product_schema"] = "The product schema is not valid: " + "; ".join(problems)
    if "slug" not in errors:
        taken = sa.select(Product.id).where(Product.slug == slug)
        if product is not None:
            taken = taken.where(Product.id != product.id)
        if db.session.scalar(taken) is not None:
            errors["slug"] = f"Another product already uses the slug “{slug}”"
    if errors:
        raise CatalogInvalid(errors)
    before = _product_state(product) if product is not None else None
    if product is None:
        product = Product()
        db.session.add(product)
    for key, value in {**fields, "slug": slug, "icon": icon, "product_schema": schema, "is_active": bool(is_active)}.items():
        setattr(product, key, value)
    db.session.flush()
    audit.record("product.update" if before else "product.create", actor_id=actor_id, target=product,
                 before=before, after=_product_state(product))
    db.session.commit()
    return product


def _product_state(product: Product) -> dict:
    return {"slug": product.slug, "name": product.name, "category": product.category,
            "is_active": product.is_active, "product_schema": product.product_schema}


def parse_discount(raw) -> Decimal:
    try:
        value = Decimal(str(raw if raw not in (None, "") else "0").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError("Enter the discount as a percentage such as 15 or 12.5", field="discount_percent") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValidationError("The discount must be between 0 and 100 percent", field="discount_percent")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("Use at most two decimal places for the discount", field="discount_percent")
    return value.quantize(Decimal("0.01"))


def _whole(raw, name: str, label: str, errors: dict, *, maximum: int) -> int:
    text = str(raw).strip() if raw is not None else ""
    if isinstance(raw, bool) or not re.fullmatch(r"\d{1,13}", text):
        errors[name] = f"{label} must be a whole number, zero or more"
        return 0
    if int(text) > maximum:
        errors[name] = f"{label} must be at most {maximum}"
    return int(text)


def create_plan(product: Product, *, actor_id: uuid.UUID | None = None, name, billing_cycle, price,
                currency="USD", discount_percent=0, trial_days=0, features=(), is_active: bool = True,
                sort_order: int = 0) -> Plan:
    """Add a plan to `product`. `price` is in minor units (4900 is $49.00)."""
    errors: dict[str, str] = {}
    name = str(name or "").strip()
    if not name or len(name) > 80:
        errors["name"] = "Plan name is required (at most 80 characters)"
    if billing_cycle not in BILLING_CYCLES:
        errors["billing_cycle"] = "Billing cycle must be one of " + ", ".join(BILLING_CYCLES)
    price = _whole(price, "price", "Price", errors, maximum=MAX_PRICE)
    trial_days = _whole(trial_days, "trial_days", "Trial days", errors, maximum=365)
    currency = str(currency or "").strip().upper()
    if not CURRENCY_RE.match(currency):
        errors["currency"] = "Currency must be a three-letter code such as USD"
    try:
        discount = parse_discount(discount_percent)
    except ValidationError as exc:
        errors["discount_percent"], discount = exc.message, Decimal(0)
    if isinstance(features, str) or not all(isinstance(f, str) and 0 < len(f.strip()) <= MAX_FEATURE
                                            for f in features) or len(features) > MAX_FEATURES:
        errors["features"] = f"Features must be a list of up to {MAX_FEATURES} lines of at most {MAX_FEATURE} characters"
    if errors:
        raise CatalogInvalid(errors)
    plan = Plan(product_id=product.id, name=name, billing_cycle=billing_cycle, price=price, currency=currency,
                discount_percent=discount, trial_days=trial_days, features=[f.strip() for f in features],
                is_active=bool(is_active), sort_order=int(sort_order))
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.create", actor_id=actor_id, target=plan,
                 after={"product": product.slug, "name": name, "billing_cycle": billing_cycle, "price": price,
                        "currency": currency, "discount_percent": str(discount), "trial_days": trial_days})
    db.session.commit()
    return plan
