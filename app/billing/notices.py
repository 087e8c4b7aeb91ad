"""What billing tells customers: an in-app notification plus the matching email.

Each email gets exactly the variables app/mail/kinds.py SAMPLES lists for its kind. A notice's text
says its dates on the customer's clock (their profile's zone), whoever's request made it; the email
carries the instants (UTC, ISO) and its worker says them on that same clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from app.dates import format_date, iso_instant
from app.links import external_url, path_for
from app.models.billing import Invoice, Subscription
from app.models.catalog import Plan, Product
from app.money import format_money
from app.notifications.services import notify
from app.timezones import zone_of


def _day(user_id: uuid.UUID, moment: datetime | None) -> str:
    """The date `moment` falls on where the customer lives."""
    return format_date(moment, zone=zone_of(user_id))


def _subscriptions_links() -> tuple[str, str]:
    return path_for("billing.subscriptions"), external_url("billing.subscriptions")


def _plan_notice(
    sub: Subscription, product: Product, plan: Plan, kind: str, title: str, body: str, **context: object
) -> None:
    """A notice (and its email) about one subscription's plan, linking to the subscriptions page."""
    link, url = _subscriptions_links()
    email_context = {"product_name": product.name, "plan_name": plan.name, **context, "subscription_url": url}
    notify(sub.user_id, kind, title, body, link, email=True, email_context=email_context)


def trial_started(sub: Subscription, product: Product, plan: Plan) -> None:
    _plan_notice(
        sub,
        product,
        plan,
        "trial_started",
        f"Your {product.name} trial has started",
        f"It runs until {_day(sub.user_id, sub.trial_end)}.",
        trial_end=iso_instant(sub.trial_end),
    )


def trial_ending(sub: Subscription, product: Product, plan: Plan, days_left: int) -> None:
    title = f"Your {product.name} trial ends in {days_left} days"
    body = f"It ends on {_day(sub.user_id, sub.trial_end)}."
    _plan_notice(
        sub, product, plan, "trial_ending", title, body, trial_end=iso_instant(sub.trial_end), days_left=days_left
    )


def activated(sub: Subscription, product: Product, plan: Plan) -> None:
    body = f"{plan.name} plan, renewing on {_day(sub.user_id, sub.current_period_end)}."
    period_end = iso_instant(sub.current_period_end)
    _plan_notice(sub, product, plan, "subscription_activated", f"{product.name} is active", body, period_end=period_end)


def receipt(invoice: Invoice, *, paid_on: datetime) -> None:
    link = path_for("billing.invoice", invoice_id=invoice.id)
    total = format_money(invoice.total, invoice.currency)
    notify(
        invoice.user_id,
        "payment_receipt",
        f"Payment received for {invoice.number}",
        f"{total} paid on {_day(invoice.user_id, paid_on)}.",
        link,
        email=True,
        email_context={
            "invoice_number": invoice.number,
            "total": total,
            "paid_on": iso_instant(paid_on),
            "invoice_url": external_url("billing.invoice", invoice_id=invoice.id),
            "lines": [
                {"description": line.description, "amount": format_money(line.amount, invoice.currency)}
                for line in invoice.lines
            ],
        },
    )


def payment_failed(sub: Subscription, product: Product, invoice: Invoice, reason: str, retry_on: datetime) -> None:
    """The notice and the email link to paying the open invoice now, on-session (where 3-D Secure works)."""
    link = path_for("billing.pay_invoice", invoice_id=invoice.id)
    url = external_url("billing.pay_invoice", invoice_id=invoice.id)
    total = format_money(invoice.total, invoice.currency)
    notify(
        sub.user_id,
        "payment_failed",
        f"Payment for {product.name} failed",
        f"{reason} We'll try again on {_day(sub.user_id, retry_on)}.",
        link,
        email=True,
        email_context={
            "product_name": product.name,
            "total": total,
            "reason": reason,
            "retry_on": iso_instant(retry_on),
            "invoice_number": invoice.number,
            "pay_url": url,
            "billing_url": external_url("billing.subscriptions"),
        },
    )


def expired(sub: Subscription, product: Product, reason: str) -> None:
    link, url = _subscriptions_links()
    notify(
        sub.user_id,
        "subscription_expired",
        f"{product.name} has expired",
        reason,
        link,
        email=True,
        email_context={"product_name": product.name, "subscriptions_url": url},
    )


def _ending_notice(sub: Subscription, product: Product, kind: str, title: str, body: str, **context: str) -> None:
    """A notice (and its email) about when a subscription stops or goes on, linking to the subscriptions page."""
    link, url = _subscriptions_links()
    email_context = {"product_name": product.name, **context, "subscriptions_url": url}
    notify(sub.user_id, kind, title, body, link, email=True, email_context=email_context)


def cancelled(sub: Subscription, product: Product, ends_on: datetime) -> None:
    """What a cancellation tells the customer: "will end on" when it waits for the period end, else "is cancelled"."""
    date, instant = _day(sub.user_id, ends_on), iso_instant(ends_on)
    if sub.is_live and sub.cancel_at_period_end:
        body = "You keep access until then and won't be charged again."
        _ending_notice(sub, product, "subscription_ending", f"{product.name} will end on {date}", body, ends_on=instant)
    else:
        body = f"Access ended on {date}."
        _ending_notice(sub, product, "subscription_cancelled", f"{product.name} is cancelled", body, ends_on=instant)


def ended(sub: Subscription, product: Product, ended_on: datetime) -> None:
    """A cancellation planned for the period end has happened (the lifecycle run)."""
    body = f"Your subscription ended on {_day(sub.user_id, ended_on)}. You won't be charged again."
    title = f"{product.name} has ended"
    _ending_notice(sub, product, "subscription_ended", title, body, ended_on=iso_instant(ended_on))


def resumed(sub: Subscription, product: Product) -> None:
    """A cancellation planned for the period end was undone: it renews as usual."""
    body = f"It renews on {_day(sub.user_id, sub.current_period_end)}."
    title = f"{product.name} is resumed"
    _ending_notice(sub, product, "subscription_resumed", title, body, renews_on=iso_instant(sub.current_period_end))


def order_refunded(user_id: uuid.UUID, *, total: str, reason: str) -> None:
    """A paid order could not be delivered (see app/billing/orders.py): the money goes back."""
    link, url = _subscriptions_links()
    notify(
        user_id,
        "order_refunded",
        f"We refunded your payment of {total}",
        f"We couldn't complete your order: {reason} The money is on its way back to your card.",
        link,
        email=True,
        email_context={"total": total, "reason": reason, "subscriptions_url": url},
    )
