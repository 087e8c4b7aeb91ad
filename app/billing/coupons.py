"""Coupons and promotion codes: creating them, checking a code against a cart, and counting its uses.

`create` is the one way a coupon and its first code are made, `add_code` the one way it gets another
(the admin page and `flask billing coupon create` / `add-code` call them).
`check` says whether a typed code applies to a cart's lines now, with
a message for each refusal; it reserves nothing, so a code sitting in a cart holds no place.
When an order is placed, `reserve` takes a place under the code's and the coupon's limits, under
their row locks, in the transaction that records the attempt (before any money moves): the last
place goes to exactly one checkout. `redeem` counts it once the payment succeeded; `release`
gives it back when the payment failed or the order was refunded.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.billing.pricing import CouponTerms, PricedLine
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription
from app.models.checkout import CheckoutAttempt
from app.models.coupon import DURATIONS, HOLDING, Coupon, PromotionCode, Redemption
from app.money import format_money, minor_exponent

FIELD = "promo_code"
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{3,40}$")
UNKNOWN = "We don't know that code. Check its spelling."
USED_UP = "This code has been used as many times as it can be."
JUST_USED_UP = "This code has just been used up — review your order."
NOT_APPLICABLE = "This code doesn't apply to anything in your cart."
NOT_FIRST = "This code is only for a first purchase."
INACTIVE = "This code is no longer valid."
DUPLICATE = "That code already exists."


@dataclass(frozen=True)
class CouponValues:
    """What a new coupon and its first code say (parsed by the admin form or the command's options)."""

    code: str
    duration: str
    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str | None = None
    cycles: int | None = None
    max_redemptions: int | None = None
    expires_at: datetime | None = None
    first_purchase_only: bool = False
    product_ids: list[uuid.UUID] = field(default_factory=list)
    plan_ids: list[uuid.UUID] = field(default_factory=list)
    name: str = ""


@dataclass(frozen=True)
class CodeValues:
    """Another promotion code for an existing coupon, with limits of its own."""

    code: str
    max_redemptions: int | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Applied:
    """A code that applies to a cart: the terms its eligible lines get."""

    code: PromotionCode
    coupon: Coupon

    @property
    def terms(self) -> CouponTerms:
        return terms_of(self.coupon, self.code.code)

    def covers(self, line: PricedLine) -> bool:
        return covers(self.coupon, line.product_id, line.plan_id)


def terms_of(coupon: Coupon, code: str) -> CouponTerms:
    return CouponTerms(code=code, percent_off=coupon.percent_off, amount_off=int(coupon.amount_off or 0))


def covers(coupon: Coupon, product_id: uuid.UUID, plan_id: uuid.UUID) -> bool:
    if not coupon.product_ids and not coupon.plan_ids:
        return True
    return str(product_id) in coupon.product_ids or str(plan_id) in coupon.plan_ids


def normalize(raw: str) -> str:
    return (raw or "").strip().upper()


def _code_errors(code: str, max_redemptions: int | None, expires_at: datetime | None, now: datetime) -> dict[str, str]:
    """What is wrong with a promotion code and its own limits (the same rules for a first and a further code)."""
    errors: dict[str, str] = {}
    if not CODE_RE.match(code):
        errors["code"] = "A code is 3 to 40 letters, digits, - or _."
    elif db.session.scalar(sa.select(PromotionCode.id).where(sa.func.lower(PromotionCode.code) == code.lower())):
        errors["code"] = DUPLICATE
    if max_redemptions is not None and not 1 <= max_redemptions <= 1_000_000:
        errors["max_redemptions"] = "Maximum redemptions is from 1 to 1,000,000."
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = "The expiry must be in the future."
    return errors


def _check_values(values: CouponValues, now: datetime) -> dict[str, str]:
    errors = _code_errors(values.code, values.max_redemptions, values.expires_at, now)
    if (values.percent_off is None) == (values.amount_off is None):
        errors["percent_off"] = "Give either a percent off or an amount off."
    elif values.percent_off is not None and not Decimal(1) <= values.percent_off <= Decimal(100):
        errors["percent_off"] = "A percent off is from 1 to 100."
    elif values.amount_off is not None:
        if values.amount_off < 1:
            errors["amount_off"] = "An amount off is at least 1 (in minor units, such as cents)."
        if not values.currency or not re.fullmatch(r"[A-Z]{3}", values.currency):
            errors["currency"] = "An amount off needs its currency, such as USD."
    if values.duration not in DURATIONS:
        errors["duration"] = "Choose once, repeating or forever."
    elif values.duration == "repeating" and not (values.cycles and 1 <= values.cycles <= 120):
        errors["cycles"] = "A repeating coupon lasts 1 to 120 invoices."
    elif values.duration != "repeating" and values.cycles is not None:
        errors["cycles"] = "Only a repeating coupon has a number of invoices."
    return errors


def create(values: CouponValues, *, actor_id: uuid.UUID | None, now: datetime | None = None) -> PromotionCode:
    """A coupon and its first promotion code; audited and committed. Raises ValidationError."""
    now = now or utcnow()
    values = CouponValues(**{**values.__dict__, "code": normalize(values.code)})
    errors = _check_values(values, now)
    if errors:
        raise ValidationError(errors)
    coupon = Coupon(
        id=uuid.uuid4(),
        name=values.name or values.code,
        percent_off=values.percent_off,
        amount_off=values.amount_off,
        currency=values.currency if values.amount_off is not None else None,
        duration=values.duration,
        cycles=values.cycles if values.duration == "repeating" else None,
        product_ids=[str(p) for p in values.product_ids],
        plan_ids=[str(p) for p in values.plan_ids],
        max_redemptions=values.max_redemptions,
        expires_at=values.expires_at,
        first_purchase_only=values.first_purchase_only,
        created_at=now,
    )
    code = PromotionCode(id=uuid.uuid4(), coupon=coupon, code=values.code, created_at=now)
    db.session.add_all([coupon, code])
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # the same code typed by two admins at once
        db.session.rollback()
        raise ValidationError({"code": DUPLICATE}) from None
    audit.record("coupon.created", actor_id=actor_id, target=coupon, after={**coupon.terms(), "code": code.code})
    db.session.commit()
    return code


def add_code(
    coupon_id: uuid.UUID, values: CodeValues, *, actor_id: uuid.UUID | None, now: datetime | None = None
) -> PromotionCode:
    """Another promotion code for the coupon, with its own maximum redemptions and expiry (the coupon's own
    limits still hold over all its codes); audited and committed. Raises NotFound, ValidationError."""
    now = now or utcnow()
    coupon = db.session.scalar(sa.select(Coupon).where(Coupon.id == coupon_id).with_for_update())
    if coupon is None:
        raise NotFound("No such coupon.")
    text = normalize(values.code)
    errors = _code_errors(text, values.max_redemptions, values.expires_at, now)
    if errors:
        db.session.rollback()
        raise ValidationError(errors)
    code = PromotionCode(
        id=uuid.uuid4(),
        coupon_id=coupon.id,
        code=text,
        max_redemptions=values.max_redemptions,
        expires_at=values.expires_at,
        created_at=now,
    )
    db.session.add(code)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # the same code typed by two admins at once
        db.session.rollback()
        raise ValidationError({"code": DUPLICATE}) from None
    audit.record(
        "coupon.code_added",
        actor_id=actor_id,
        target=coupon,
        after={
            "code": code.code,
            "max_redemptions": code.max_redemptions,
            "expires_at": code.expires_at.isoformat() if code.expires_at else None,
        },
    )
    db.session.commit()
    return code


def coupon_id_for(ref: str) -> uuid.UUID | None:
    """The coupon a command names by its id or by one of its codes; None when there is none."""
    try:
        coupon_id = uuid.UUID(ref.strip())
    except ValueError:
        code = find(ref)
        return code.coupon_id if code is not None else None
    return coupon_id if db.session.get(Coupon, coupon_id) is not None else None


def deactivate(coupon_id: uuid.UUID, *, actor_id: uuid.UUID | None) -> Coupon:
    """No new checkout can use the coupon's codes; subscriptions that redeemed it keep their discount."""
    coupon = db.session.scalar(sa.select(Coupon).where(Coupon.id == coupon_id).with_for_update())
    if coupon is None:
        raise NotFound("No such coupon.")
    if coupon.active:
        coupon.active = False
        audit.record("coupon.deactivated", actor_id=actor_id, target=coupon, before={"active": True})
    db.session.commit()
    return coupon


def listing() -> list[Coupon]:
    return list(
        db.session.scalars(
            sa.select(Coupon).options(selectinload(Coupon.codes)).order_by(Coupon.created_at.desc()).limit(200)
        )
    )


def describe(coupon: Coupon) -> str:
    """ "20% off, for 3 invoices" — how the admin list and messages name a coupon."""
    size = (
        f"{Decimal(coupon.percent_off).normalize():f}% off"
        if coupon.percent_off is not None
        else f"{format_money(coupon.amount_off, coupon.currency or 'USD')} off"
    )
    how_long = {"once": "once", "forever": "forever"}.get(coupon.duration, f"for {coupon.cycles} invoices")
    return f"{size}, {how_long}"


def find(raw: str) -> PromotionCode | None:
    text = normalize(raw)
    if not CODE_RE.match(text):
        return None
    return db.session.scalar(
        sa.select(PromotionCode)
        .options(selectinload(PromotionCode.coupon))
        .where(sa.func.lower(PromotionCode.code) == text.lower())
    )


def _holding(column: Any, value: uuid.UUID) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Redemption).where(column == value, Redemption.status.in_(HOLDING))
        )
        or 0
    )


def _used_up(code: PromotionCode, coupon: Coupon) -> bool:
    if code.max_redemptions is not None and _holding(Redemption.promotion_code_id, code.id) >= code.max_redemptions:
        return True
    return coupon.max_redemptions is not None and _holding(Redemption.coupon_id, coupon.id) >= coupon.max_redemptions


def _bought_before(user_id: uuid.UUID | None) -> bool:
    if user_id is None:
        return False
    return (
        db.session.scalar(
            sa.select(Invoice.id)
            .where(Invoice.user_id == user_id, Invoice.kind == "invoice", Invoice.status.in_(("paid", "disputed")))
            .limit(1)
        )
        is not None
    )


def check(raw: str, lines: list[PricedLine], user_id: uuid.UUID | None, *, now: datetime | None = None) -> Applied:
    """Whether the code applies to these cart lines now. Raises ValidationError({"promo_code": why})."""
    now = now or utcnow()
    code = find(raw)
    if code is None:
        raise ValidationError({FIELD: UNKNOWN})
    coupon = code.coupon
    if not code.active or not coupon.active:
        raise ValidationError({FIELD: INACTIVE})
    for expiry in (code.expires_at, coupon.expires_at):
        if expiry is not None and expiry <= now:
            raise ValidationError({FIELD: f"This code expired on {expiry:%d %B %Y}."})
    if _used_up(code, coupon):
        raise ValidationError({FIELD: USED_UP})
    applied = Applied(code, coupon)
    eligible = [line for line in lines if applied.covers(line)]
    if not eligible:
        raise ValidationError({FIELD: NOT_APPLICABLE})
    if coupon.currency and all(line.currency != coupon.currency for line in eligible):
        raise ValidationError({FIELD: f"This code is for {coupon.currency} purchases only."})
    if coupon.first_purchase_only and _bought_before(user_id):
        raise ValidationError({FIELD: NOT_FIRST})
    return applied


def applies_to(applied: Applied, line: PricedLine) -> bool:
    return applied.covers(line) and (not applied.coupon.currency or applied.coupon.currency == line.currency)


def reserve(attempt: CheckoutAttempt, code_id: uuid.UUID, user_id: uuid.UUID) -> Redemption:
    """Take a place under the code's and coupon's limits for this attempt (the caller commits it with the
    attempt). Under the code's and the coupon's row locks, so concurrent checkouts take places one by one.
    Raises Conflict(JUST_USED_UP) when no place is left (the caller rolls back: nothing is charged)."""
    code = db.session.scalar(
        sa.select(PromotionCode)
        .where(PromotionCode.id == code_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    coupon = (
        db.session.scalar(
            sa.select(Coupon)
            .where(Coupon.id == code.coupon_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if code is not None
        else None
    )
    if code is None or coupon is None or not code.active or not coupon.active or _used_up(code, coupon):
        raise Conflict(JUST_USED_UP)
    redemption = Redemption(
        id=uuid.uuid4(), coupon_id=coupon.id, promotion_code_id=code.id, user_id=user_id, checkout_id=attempt.id
    )
    db.session.add(redemption)
    return redemption


def _lock_redemption(attempt_id: uuid.UUID) -> Redemption | None:
    return db.session.scalar(
        sa.select(Redemption)
        .where(Redemption.checkout_id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def redeem(attempt: CheckoutAttempt, invoice_id: uuid.UUID | None, now: datetime) -> None:
    """The order was fulfilled: its redemption counts (once), on the code and on the coupon. A released one
    counts too: a declined payment that went through after all (orders.COMPLETABLE) was discounted."""
    redemption = _lock_redemption(attempt.id)
    if redemption is None or redemption.status == "redeemed":
        return
    redemption.status, redemption.redeemed_at, redemption.invoice_id = "redeemed", now, invoice_id
    for model, row_id in ((PromotionCode, redemption.promotion_code_id), (Coupon, redemption.coupon_id)):
        db.session.execute(sa.update(model).where(model.id == row_id).values(times_redeemed=model.times_redeemed + 1))


def release(attempt_id: uuid.UUID) -> None:
    """The payment failed or the order was refunded: its place is free again."""
    redemption = _lock_redemption(attempt_id)
    if redemption is not None and redemption.status == "pending":
        redemption.status = "released"


def for_subscription(terms: dict[str, Any]) -> dict[str, Any]:
    """What a subscription keeps of a redeemed coupon: its terms and how many renewal invoices it still
    discounts (the checkout invoice was the first; None: forever)."""
    duration = terms.get("duration")
    left = None if duration == "forever" else (int(terms.get("cycles") or 1) - 1 if duration == "repeating" else 0)
    return {**terms, "left": left}


def renewal_terms(sub: Subscription) -> CouponTerms | None:
    """The coupon the next renewal invoice gets, if its duration still covers it."""
    kept = sub.coupon
    if not kept or (kept.get("left") is not None and int(kept["left"]) <= 0):
        return None
    return CouponTerms.from_dict(kept)


def use_on_renewal(sub: Subscription) -> None:
    """A renewal invoice was drafted with the coupon: one fewer left (a forever coupon has no count)."""
    kept = sub.coupon
    if kept and kept.get("left") is not None:
        sub.coupon = {**kept, "left": max(0, int(kept["left"]) - 1)}


def parse_amount(raw: str, currency: str) -> int:
    """ "5.00" USD → 500 (the admin form takes major units). Raises ValueError."""
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(raw) from None
    minor = value.scaleb(minor_exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(raw)
    return int(minor)
