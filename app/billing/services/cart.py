"""The cart: plans of several products and cycles, one plan per product.

Anonymous visitors keep it in the Flask session; signed-in users in `cart_item`.
At login the session cart is merged into the user's (`merge_on_login`, connected to Flask-Login's
user_logged_in when the billing blueprint is registered).
`session["cart_count"]` feeds the navbar badge, so an empty cart costs no query.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from typing import TypeAlias

import sqlalchemy as sa
from flask import session
from flask_login import AnonymousUserMixin

from app.billing import coupons
from app.billing.pricing import PricedLine, Quote, price_line, seats_problem
from app.catalog.fees import current_percent
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models.billing import LIVE_STATUSES, Subscription
from app.models.catalog import Plan, Product
from app.models.checkout import CartItem
from app.models.user import User

# Whose cart: a signed-in user (rows in cart_item) or a visitor (the Flask session).
Shopper: TypeAlias = User | AnonymousUserMixin

SESSION_KEY = "cart"
COUNT_KEY = "cart_count"
SEEN_KEY = "cart_seen"  # prices pointed out on a GET, recorded as seen by the next change to the cart
PROMO_KEY = "promo_code"  # the promotion code applied to the cart (it reserves nothing until the order is placed)
MAX_LINES = 20
MAX_QUANTITY = 100


@dataclass
class Entry:
    product_id: uuid.UUID
    plan_id: uuid.UUID
    quantity: int
    seen_unit_price: int


@dataclass
class CartLine:
    entry: Entry
    plan: Plan | None
    product: Product | None
    priced: PricedLine | None
    problem: str | None = None  # why it can't be bought now
    old_unit_price: int | None = None  # set when the price changed since it was added
    trial_available: bool = False


@dataclass
class CartView:
    lines: list[CartLine]
    quote: Quote
    promo: coupons.Applied | None = None
    # Why the code that was applied no longer is (it expired, was used up …): shown once, then forgotten.
    promo_error: str | None = None

    @property
    def changed(self) -> list[CartLine]:
        return [line for line in self.lines if line.old_unit_price is not None]

    @property
    def blocked(self) -> list[CartLine]:
        return [line for line in self.lines if line.problem]


QUANTITY_RANGE = f"Choose a quantity from 1 to {MAX_QUANTITY}."


def parse_quantity(raw: object) -> int:
    text = str(1 if raw is None or raw == "" else raw).strip()
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= MAX_QUANTITY:
        raise ValidationError({"quantity": QUANTITY_RANGE})
    return int(text)


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError({"quantity": QUANTITY_RANGE})


def _signed_in(user: Shopper) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def entries(user: Shopper) -> list[Entry]:
    if _signed_in(user):
        rows = db.session.scalars(
            sa.select(CartItem).where(CartItem.user_id == user.id).order_by(CartItem.added_at, CartItem.product_id)
        )
        return [Entry(r.product_id, r.plan_id, r.quantity, r.seen_unit_price) for r in rows]
    result = []
    for product_id, data in (session.get(SESSION_KEY) or {}).items():
        try:
            result.append(Entry(uuid.UUID(product_id), uuid.UUID(data["plan"]), int(data["qty"]), int(data["seen"])))
        except (KeyError, TypeError, ValueError):
            continue  # a stale or hand-edited session line is dropped, never trusted
    return result


def _store(user: Shopper, entry: Entry) -> None:
    if _signed_in(user):
        item = db.session.get(CartItem, (user.id, entry.product_id))
        if item is None:
            db.session.add(
                CartItem(
                    user_id=user.id,
                    product_id=entry.product_id,
                    plan_id=entry.plan_id,
                    quantity=entry.quantity,
                    seen_unit_price=entry.seen_unit_price,
                )
            )
        else:
            item.plan_id, item.quantity, item.seen_unit_price = entry.plan_id, entry.quantity, entry.seen_unit_price
    else:
        cart = dict(session.get(SESSION_KEY) or {})
        cart[str(entry.product_id)] = {"plan": str(entry.plan_id), "qty": entry.quantity, "seen": entry.seen_unit_price}
        session[SESSION_KEY] = cart


def _delete(user: Shopper, product_id: uuid.UUID) -> None:
    if _signed_in(user):
        db.session.execute(sa.delete(CartItem).where(CartItem.user_id == user.id, CartItem.product_id == product_id))
    else:
        cart = dict(session.get(SESSION_KEY) or {})
        cart.pop(str(product_id), None)
        session[SESSION_KEY] = cart


def _acknowledge(user: Shopper) -> None:
    """Record the prices the cart pointed out (kept in the session until now) as seen, with the next edit."""
    seen = session.pop(SEEN_KEY, None) or {}
    for entry in entries(user):
        price = seen.get(str(entry.product_id))
        if isinstance(price, int) and price != entry.seen_unit_price:
            entry.seen_unit_price = price
            _store(user, entry)


def products(user: Shopper) -> list[Product]:
    """The products in the cart (for parsing the answers to their checkout questions)."""
    ids = [e.product_id for e in entries(user)]
    return list(db.session.scalars(sa.select(Product).where(Product.id.in_(ids)))) if ids else []


def _commit(user: Shopper) -> int:
    _acknowledge(user)
    db.session.commit()
    count = len(entries(user)) if _signed_in(user) else len(session.get(SESSION_KEY) or {})
    session[COUNT_KEY] = count
    return count


def _live_subscription(user: Shopper, product_id: uuid.UUID) -> Subscription | None:
    if not _signed_in(user):
        return None
    return db.session.scalar(
        sa.select(Subscription).where(
            Subscription.user_id == user.id,
            Subscription.product_id == product_id,
            Subscription.status.in_(LIVE_STATUSES),
        )
    )


def plan_and_product(plan_id: uuid.UUID) -> tuple[Plan, Product]:
    """A plan and its product (sold or not); NotFound if there is no such plan."""
    row = db.session.execute(
        sa.select(Plan, Product).join(Product, Product.id == Plan.product_id).where(Plan.id == plan_id)
    ).first()
    if row is None:
        raise NotFound("That plan doesn't exist. Pick it again from the catalog.")
    plan, product = row
    return plan, product


def _sellable_plan(plan_id: uuid.UUID) -> tuple[Plan, Product]:
    plan, product = plan_and_product(plan_id)
    if not plan.is_active or not product.is_active:
        raise Conflict(f"The {product.name} {plan.name} plan is no longer sold. Choose another plan.")
    return plan, product


def _check_seats(plan: Plan, quantity: int) -> None:
    problem = seats_problem(plan, quantity)
    if problem:
        raise ValidationError({"quantity": problem})


def add(user: Shopper, plan_id: uuid.UUID, quantity: int | None = None) -> str:
    """Put a plan in the cart (replacing another plan of the same product). Returns the message to show.

    `quantity` None: a per-seat plan's minimum seats, else 1."""
    plan, product = _sellable_plan(plan_id)
    if quantity is None:
        quantity = plan.min_seats if plan.per_seat else 1
    _check_quantity(quantity)
    _check_seats(plan, quantity)
    live = _live_subscription(user, product.id)
    if live is not None and live.status != "trial":
        raise Conflict(f"You already subscribe to {product.name}. Manage it under My subscriptions.")
    current = {e.product_id: e for e in entries(user)}
    if product.id not in current and len(current) >= MAX_LINES:
        raise Conflict(f"A cart holds at most {MAX_LINES} products. Check out these first.")
    others = [e for pid, e in current.items() if pid != product.id]
    if others:
        currency = db.session.scalar(sa.select(Plan.currency).where(Plan.id == others[0].plan_id))
        if currency and currency != plan.currency:
            raise Conflict(f"Your cart is in {currency}. Check it out first, then buy this {plan.currency} plan.")
    previous = current.get(product.id)
    _store(user, Entry(product.id, plan.id, quantity, plan.final_price))
    _commit(user)
    if previous is not None and previous.plan_id != plan.id:
        return f"Switched {product.name} to the {plan.name} plan: a cart holds one plan per product."
    return f"Added {product.name} ({plan.name}) to your cart."


def update_quantity(user: Shopper, product_id: uuid.UUID, quantity: int) -> str:
    _check_quantity(quantity)
    entry = {e.product_id: e for e in entries(user)}.get(product_id)
    if entry is None:
        raise NotFound("That product isn't in your cart any more.")
    plan = db.session.get(Plan, entry.plan_id)
    if plan is not None:  # a plan gone since is flagged by `view`
        _check_seats(plan, quantity)
    entry.quantity = quantity
    _store(user, entry)
    _commit(user)
    return "Seats updated." if plan is not None and plan.per_seat else "Quantity updated."


def remove(user: Shopper, product_id: uuid.UUID) -> str:
    _delete(user, product_id)
    _commit(user)
    return "Removed from your cart."


def forget_product(user: Shopper, product_id: uuid.UUID) -> None:
    """Drop a product's line (its trial just started), quietly and at once."""
    if any(e.product_id == product_id for e in entries(user)):
        _delete(user, product_id)
        _commit(user)


def clear(user: Shopper) -> None:
    """Empty the cart in the caller's transaction (checkout commits it)."""
    if _signed_in(user):
        db.session.execute(sa.delete(CartItem).where(CartItem.user_id == user.id))
    session.pop(SESSION_KEY, None)
    session.pop(SEEN_KEY, None)
    session.pop(PROMO_KEY, None)
    session[COUNT_KEY] = 0


def recount(user: Shopper) -> None:
    """Refresh the navbar's count after something else (a checkout) changed the cart."""
    session[COUNT_KEY] = len(entries(user))


def view(user: Shopper, *, acknowledge: bool = True) -> CartView:
    """Each line with today's price; price changes and retired plans are flagged. Writes no row.

    acknowledge: remember (in the session) today's prices as seen, so a change is pointed out once and then
    shown as is; the next change to the cart records them (`_acknowledge`).
    """
    seen = session.get(SEEN_KEY) or {}
    acknowledged = dict(seen)
    current = entries(user)
    plans = {}
    if current:
        rows = db.session.execute(
            sa.select(Plan, Product)
            .join(Product, Product.id == Plan.product_id)
            .where(Plan.id.in_([e.plan_id for e in current]))
        )
        plans = {plan.id: (plan, product) for plan, product in rows}
    fee_percent = current_percent()
    trials_used, owned = _history(user, [e.product_id for e in current])
    lines = []
    for entry in current:
        plan, product = plans.get(entry.plan_id, (None, None))
        line = CartLine(entry, plan, product, None)
        if plan is None or product is None or plan.product_id != entry.product_id:
            line.problem = "This plan no longer exists. Remove it and choose another."
        elif not plan.is_active or not product.is_active:
            line.problem = f"The {plan.name} plan is no longer sold. Remove it and choose another plan."
        elif entry.product_id in owned:
            line.problem = f"You already subscribe to {product.name}."
        elif problem := seats_problem(plan, entry.quantity):  # the plan's seat limits changed since
            line.problem = problem
        else:
            line.priced = price_line(plan, product, entry.quantity, fee_percent)
            line.trial_available = plan.trial_days > 0 and entry.product_id not in trials_used
            if plan.final_price != entry.seen_unit_price and seen.get(str(entry.product_id)) != plan.final_price:
                line.old_unit_price = entry.seen_unit_price
                acknowledged[str(entry.product_id)] = plan.final_price
        lines.append(line)
    if acknowledge and acknowledged != seen:
        session[SEEN_KEY] = acknowledged
    promo, promo_error = _promo(user, lines)
    quote = Quote(
        [line.priced for line in lines if line.priced],
        fee_percent,
        problems=[line.problem for line in lines if line.problem],
    )
    if _signed_in(user) or session.get(COUNT_KEY) != len(lines):
        session[COUNT_KEY] = len(lines)
    return CartView(lines, quote, promo, promo_error)


def _promo(user: Shopper, lines: list[CartLine]) -> tuple[coupons.Applied | None, str | None]:
    """The applied code, checked again now, its terms set on the lines it covers; if it no longer applies,
    it is taken off the cart and the reason returned."""
    raw = session.get(PROMO_KEY)
    priced = [line.priced for line in lines if line.priced]
    if not raw or not priced:
        return None, None
    try:
        applied = coupons.check(str(raw), priced, user.id if _signed_in(user) else None)
    except ValidationError as exc:
        session.pop(PROMO_KEY, None)
        return None, f"The code {raw} was taken off: {exc.message}"
    for line in lines:
        if line.priced is not None and coupons.applies_to(applied, line.priced):
            line.priced = dataclasses.replace(line.priced, coupon=applied.terms)
    return applied, None


def apply_code(user: Shopper, raw: str) -> str:
    """Apply a promotion code to the cart. Raises ValidationError({"promo_code": why}): nothing changed."""
    current = view(user, acknowledge=False)
    priced = [line.priced for line in current.lines if line.priced]
    if not str(raw or "").strip():
        raise ValidationError({coupons.FIELD: "Enter a promo code."})
    if not priced:
        raise ValidationError({coupons.FIELD: "Your cart is empty."})
    applied = coupons.check(raw, priced, user.id if _signed_in(user) else None)
    session[PROMO_KEY] = applied.code.code
    return f"Promo code {applied.code.code} applied: {coupons.describe(applied.coupon)}."


def remove_code(user: Shopper) -> str:
    session.pop(PROMO_KEY, None)
    return "Promo code removed."


def _history(user: Shopper, product_ids: list[uuid.UUID]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(products this user already had a trial of, products with a live paid subscription)."""
    if not _signed_in(user) or not product_ids:
        return set(), set()
    rows = db.session.execute(
        sa.select(Subscription.product_id, Subscription.status, Subscription.trial_end).where(
            Subscription.user_id == user.id, Subscription.product_id.in_(product_ids)
        )
    )
    trials, owned = set(), set()
    for product_id, status, trial_end in rows:
        if trial_end is not None:
            trials.add(product_id)
        if status in ("active", "past_due"):
            owned.add(product_id)
    return trials, owned


def merge_on_login(sender: object, user: User, **extra: object) -> None:
    """The anonymous cart joins the account's cart; for a product in both, the newer choice wins."""
    anonymous = session.pop(SESSION_KEY, None) or {}
    if not anonymous:
        return
    for product_id, data in anonymous.items():
        try:
            entry = Entry(uuid.UUID(product_id), uuid.UUID(data["plan"]), int(data["qty"]), int(data["seen"]))
        except (KeyError, TypeError, ValueError):
            continue
        if db.session.get(Plan, entry.plan_id) is not None:
            _store(user, entry)
    db.session.flush()
    session[COUNT_KEY] = len(entries(user))
