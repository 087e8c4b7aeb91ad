"""Checkout as a customer does it (cart, review, card, pay) and the shop the billing tests buy from."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from app.catalog import fees
from app.extensions import db
from app.models.billing import PaymentMethod
from app.models.catalog import Plan, PlatformFee
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory

CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED = "4000 0000 0000 0002"
CARD_NO_FUNDS = "4000 0000 0000 9995"
CARD_RENEWAL_DECLINES = "4000 0000 0000 0341"
SCHEMA = {
    "type": "object",
    "properties": {
        "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
        "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 500, "default": 5},
    },
    "required": ["company_name"],
}


def set_fee(percent: str) -> None:
    db.session.execute(sa.update(PlatformFee).where(PlatformFee.id == 1).values(percent=Decimal(percent)))
    db.session.commit()
    fees.clear_cache()


def catalog() -> dict:
    """Two products on different cycles: CRM monthly $49.00; Analytics yearly $468.00 with 10 % off. Fee 10 %."""
    crm = ProductFactory(name="Pipeline CRM")
    analytics = ProductFactory(name="Insight Analytics")
    set_fee("10")
    return {
        "crm": crm,
        "analytics": analytics,
        "crm_team": PlanFactory(product=crm, name="Team", billing_cycle="monthly", price=4900),
        "crm_pro": PlanFactory(product=crm, name="Pro", billing_cycle="monthly", price=9900),
        "analytics_yearly": PlanFactory(
            product=analytics, name="Growth", billing_cycle="yearly", price=46800, discount_percent=Decimal("10")
        ),
    }


def ids(rows: dict) -> dict:
    """Plain ids (safe to use after the session that made the rows is gone)."""
    return {key: row.id for key, row in rows.items()}


def card(number: str = CARD_OK, **overrides) -> dict:
    return {
        "payment_method": "card",
        "card_number": number,
        "card_expiry": "12/34",
        "card_cvc": "123",
        "card_name": "Ada Lovelace",
        **overrides,
    }


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in the page"
    return match.group(1)


def review(client) -> tuple[str, str, str]:
    """GET the review page: (html, idempotency key, review fingerprint)."""
    response = client.get("/checkout")
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return html, hidden(html, "idempotency_key"), hidden(html, "review_fingerprint")


def pay(client, fields: dict | None = None, *, key: str | None = None, fingerprint: str | None = None):
    """Review, then submit the checkout form (card 4242 unless `fields` says otherwise)."""
    if key is None or fingerprint is None:
        _, page_key, page_fp = review(client)
        key, fingerprint = key or page_key, fingerprint or page_fp
    data = {"idempotency_key": key, "review_fingerprint": fingerprint, **(fields or card())}
    return client.post("/checkout", data=data)


def add_to_cart(client, plan_id, quantity=None):
    data = {"plan_id": str(plan_id)}
    if quantity is not None:
        data["quantity"] = str(quantity)
    return client.post("/cart/add", data=data)


def save_card(user, number: str = CARD_OK) -> PaymentMethod:
    """A card on file, tokenized by the sandbox as checkout would."""
    from app.billing.gateway import get_gateway
    from app.billing.gateway.cards import read_card
    from app.billing.services.payment_methods import save

    details, errors = read_card(card(number))
    assert not errors
    method = save(user, get_gateway().tokenize(details), holder_name="Ada Lovelace", gateway="sandbox")
    db.session.commit()
    return method


def renewal_transaction(user, plan_id, *, gateway: str = "sandbox", key: str | None = None, method=None):
    """A renewal invoice (open) and its pending charge on `gateway`, committed before any gateway is called.

    Returns (subscription, invoice, transaction).
    """
    from datetime import timedelta

    from app.billing import invoices as invoice_service
    from app.billing.periods import add_cycle
    from app.billing.pricing import price_line
    from app.models.base import utcnow
    from app.models.billing import Transaction
    from app.models.catalog import Product

    plan = db.session.get(Plan, plan_id)
    product = db.session.get(Product, plan.product_id)
    now = utcnow()
    sub = SubscriptionFactory(
        user_id=user.id, plan=plan, current_period_start=now - timedelta(days=30), current_period_end=now
    )
    invoice = invoice_service.draft_invoice(
        user=user,
        line=price_line(plan, product, 1, Decimal("10")),
        subscription_id=sub.id,
        method="card",
        label=method.label if method else "Visa •••• 4242",
        period=(now, add_cycle(now, plan.billing_cycle)),
    )
    invoice_service.finalize([invoice], now=now)
    tx = Transaction(
        user_id=user.id,
        subscription_id=sub.id,
        kind="charge",
        purpose="renewal",
        status="pending",
        amount=invoice.total,
        currency=invoice.currency,
        gateway=gateway,
        idempotency_key=key or f"renewal:{invoice.id}:0",
        payment_method_id=method.id if method else None,
    )
    db.session.add(tx)
    db.session.flush()
    invoice.transaction_id = tx.id
    db.session.commit()
    return sub, invoice, tx


def pending_renewal(user, plan_id, *, card_number: str = CARD_OK, key: str | None = None, method=None):
    """A renewal whose charge reached the gateway but whose answer never reached us.

    Returns (subscription, invoice, transaction, the sandbox's charge record).
    """
    from app.billing.gateway import get_gateway

    method = method or save_card(user, card_number)
    sub, invoice, tx = renewal_transaction(user, plan_id, key=key, method=method)
    gateway = get_gateway()
    result = gateway.charge(
        amount=invoice.total, currency="USD", token=method.token, idempotency_key=tx.idempotency_key, off_session=True
    )
    return sub, invoice, tx, gateway.record(result.reference)


def held_subscription(user_id, plan_id, *, days_in: int = 10, days: int = 30, card: bool = True):
    """An active subscription `days_in` days into a `days`-day period (to change plan from), with a card on file."""
    from datetime import timedelta

    from app.models.base import utcnow
    from app.models.user import User

    start = utcnow().replace(microsecond=0) - timedelta(days=days_in)
    sub = SubscriptionFactory(
        user_id=user_id, plan_id=plan_id, current_period_start=start, current_period_end=start + timedelta(days=days)
    )
    if card:
        save_card(db.session.get(User, user_id))
    db.session.commit()
    return sub.id


def change_fields(html: str) -> dict:
    """The hidden fields of a plan change's preview page, ready to confirm (POST)."""
    return {name: hidden(html, name) for name in ("plan_id", "idempotency_key", "fingerprint", "previewed_at")}


def change_form(client, sub_id, plan_id) -> dict:
    """GET the preview of switching `sub_id` to `plan_id`: its fields."""
    return change_fields(client.get(f"/subscriptions/{sub_id}/change?plan={plan_id}").get_data(as_text=True))
