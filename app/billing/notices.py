"""What billing tells customers: an in-app notification plus the matching email.

Each email gets exactly the variables app/mail/kinds.py SAMPLES lists for its kind. A notice's text
says its dates on the customer's clock (their profile's zone), whoever's request made it; the email
carries the instants (UTC, ISO) and its worker says them on that same clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from app import rbac
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
    from_credit = format_money(invoice.credit_applied, invoice.currency) if invoice.credit_applied else ""
    of_which = f" ({from_credit} from your credit balance)" if from_credit else ""
    notify(
        invoice.user_id,
        "payment_receipt",
        f"Payment received for {invoice.number}",
        f"{total} paid on {_day(invoice.user_id, paid_on)}{of_which}.",
        link,
        email=True,
        email_context={
            "invoice_number": invoice.number,
            "total": total,
            "from_credit": from_credit,
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


def _ending_notice(
    sub: Subscription, product: Product, kind: str, title: str, body: str, **context: str | bool
) -> None:
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


def _access_while_paused(product: Product) -> str:
    if product.access_while_paused:
        return "You keep access while it is paused."
    return "You won't have access while it is paused."


def pause_scheduled(sub: Subscription, product: Product) -> None:
    """A pause is set: when it starts (the paid period's end), when it ends by itself, and access meanwhile."""
    start, end = _day(sub.user_id, sub.pause_start), _day(sub.user_id, sub.pause_end)
    body = f"No charges from {start} until it resumes by itself on {end}. {_access_while_paused(product)}"
    _ending_notice(
        sub,
        product,
        "subscription_pause_scheduled",
        f"{product.name} will pause on {start}",
        body,
        pause_start=iso_instant(sub.pause_start),
        pause_end=iso_instant(sub.pause_end),
        access_while_paused=product.access_while_paused,
    )


def paused(sub: Subscription, product: Product) -> None:
    """A pause has started (the lifecycle run): nothing is charged until it ends."""
    end = _day(sub.user_id, sub.pause_end)
    body = f"It resumes by itself on {end}; you won't be charged until then. {_access_while_paused(product)}"
    _ending_notice(
        sub,
        product,
        "subscription_paused",
        f"{product.name} is paused until {end}",
        body,
        pause_end=iso_instant(sub.pause_end),
        access_while_paused=product.access_while_paused,
    )


def pause_ended(sub: Subscription, product: Product) -> None:
    """A pause is over (by itself or resumed early): its next period starts at the moved period end."""
    start = _day(sub.user_id, sub.current_period_end)
    body = f"Its next period starts on {start} and is charged then, as usual."
    title = f"{product.name} is running again"
    period_start = iso_instant(sub.current_period_end)
    _ending_notice(sub, product, "subscription_pause_ended", title, body, period_start=period_start)


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


def dispute_opened(
    invoices: list[Invoice], *, reason: str, amount: int, currency: str, respond_by: datetime | None
) -> None:
    """Tell everyone who manages billing (in-app and by email) that a card holder disputed a payment."""
    numbers = ", ".join(invoice.number or "" for invoice in invoices)
    first = invoices[0]
    customer = first.bill_to.get("email") or first.bill_to.get("name") or "a customer"
    disputed = format_money(amount, currency)
    link = path_for("admin.invoices_detail", invoice_id=first.id)
    title = f"Payment disputed: {numbers}"
    body = f"{customer} disputed {disputed} with their bank (reason: {reason.replace('_', ' ')})."
    for staff in rbac.holders("billing.manage"):
        respond = f" Respond in Stripe by {format_date(respond_by, zone=zone_of(staff.id))}." if respond_by else ""
        notify(
            staff.id,
            "invoice_disputed",
            title,
            body + respond,
            link,
            email=True,
            email_context={
                "invoice_numbers": numbers,
                "customer": customer,
                "amount": disputed,
                "reason": reason.replace("_", " "),
                "respond_by": iso_instant(respond_by) if respond_by else "",
                "invoice_url": external_url("admin.invoices_detail", invoice_id=first.id),
            },
        )


def plan_changed(sub: Subscription, product: Product, old: Plan, new: Plan, when: datetime, *, scheduled: bool) -> None:
    """A plan change: done now, or scheduled for `when` (the period end)."""
    date = _day(sub.user_id, when)
    if scheduled:
        title = f"{product.name} switches to {new.name} on {date}"
        body = f"You keep {old.name} until then. You can cancel the switch on your subscriptions page."
    else:
        title = f"{product.name} is now on {new.name}"
        body = f"Switched from {old.name} on {date}. It renews on {_day(sub.user_id, sub.current_period_end)}."
    _plan_notice(
        sub,
        product,
        new,
        "plan_changed",
        title,
        body,
        old_plan_name=old.name,
        effective_on=iso_instant(when),
        renews_on=iso_instant(sub.current_period_end),
        scheduled=scheduled,
    )
