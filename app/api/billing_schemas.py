"""The schemas of the API's billing and admin operations (subscriptions, invoices, payments, roles).

Every string has a maxLength; unknown fields are refused (marshmallow's default, RAISE).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from app.api.schemas import required_text, text
from app.billing.services.cart import MAX_LINES, MAX_QUANTITY
from app.billing.services.checkout import PaymentMethod
from app.billing.services.subscriptions import CancelWhen


def ident(**kwargs: Any) -> fields.UUID:
    """A UUID sent by the client (its string form is 36 characters)."""
    return fields.UUID(metadata={"maxLength": 36}, **kwargs)


ANSWER_VALUE = fields.Raw(
    metadata={
        "description": "A string, number or boolean, as the product's schema asks.",
        "oneOf": [{"type": "string", "maxLength": 1000}, {"type": "number"}, {"type": "boolean"}],
    }
)
ANSWERS = fields.Dict(
    keys=fields.String(validate=validate.Length(max=100)),
    values=ANSWER_VALUE,
    load_default=dict,
    validate=validate.Length(max=50),
    metadata={"description": "Answers to the product's questions (GET /products/{id} lists its plans)."},
)


def _answer_values(data: dict[str, object]) -> None:
    for value in data.values():
        if isinstance(value, str) and len(value) > 1000:
            raise ma.ValidationError("An answer is at most 1000 characters.")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ma.ValidationError("Answers are strings, numbers or booleans.")


class SubscriptionOut(ma.Schema):
    id = fields.UUID(required=True)
    product_id = fields.UUID(required=True)
    product_name = fields.Function(lambda s: s.product.name, required=True)
    plan_id = fields.UUID(required=True)
    plan_name = fields.Function(lambda s: s.plan.name, required=True)
    billing_cycle = fields.Function(lambda s: s.plan.billing_cycle, required=True)
    status = fields.String(required=True)
    quantity = fields.Integer(required=True)
    auto_renew = fields.Boolean(required=True)
    cancel_at_period_end = fields.Boolean(required=True)
    started_at = fields.AwareDateTime(required=True)
    current_period_start = fields.AwareDateTime(allow_none=True)
    current_period_end = fields.AwareDateTime(allow_none=True)
    trial_end = fields.AwareDateTime(allow_none=True)
    pause_start = fields.AwareDateTime(allow_none=True)
    pause_end = fields.AwareDateTime(allow_none=True)
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


class SubscriptionPageOut(ma.Schema):
    items = fields.List(fields.Nested(SubscriptionOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    next = fields.String(allow_none=True, required=True)


class SubscriptionActionOut(ma.Schema):
    message = fields.String(required=True, metadata={"description": "What happened, for a person."})
    subscription = fields.Nested(SubscriptionOut, required=True)


class TrialIn(ma.Schema):
    plan_id = ident(required=True)
    answers = ANSWERS

    @ma.validates("answers")
    def _answers(self, value: dict[str, object], **kwargs: object) -> None:
        _answer_values(value)


class PurchaseItemIn(ma.Schema):
    plan_id = ident(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_QUANTITY))
    answers = ANSWERS

    @ma.validates("answers")
    def _answers(self, value: dict[str, object], **kwargs: object) -> None:
        _answer_values(value)


class CardIn(ma.Schema):
    """The card as typed (the sandbox gateway only: with Stripe the card never reaches this server)."""

    number = required_text(30)
    expiry = required_text(7, metadata={"description": "MM/YY"})
    cvc = required_text(4)
    name = required_text(100)


class PurchaseIn(ma.Schema):
    """Buy these plans now (this replaces your cart). Pay by `card` (the sandbox), by a `setup_intent`
    your app confirmed with Stripe, or by bank transfer."""

    items = fields.List(fields.Nested(PurchaseItemIn), required=True, validate=validate.Length(min=1, max=MAX_LINES))
    payment_method = fields.String(
        load_default=PaymentMethod.CARD.value,
        validate=[validate.OneOf([m.value for m in PaymentMethod]), validate.Length(max=20)],
    )
    card = fields.Nested(CardIn, load_default=None, allow_none=True)
    setup_intent = text(100, load_default="", metadata={"description": "A Stripe SetupIntent id (seti_…)."})


class InvoiceLineOut(ma.Schema):
    kind = fields.String(required=True)
    description = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_amount = fields.Integer(required=True)
    amount = fields.Integer(required=True)


class InvoiceOut(ma.Schema):
    id = fields.UUID(required=True)
    number = fields.String(allow_none=True, required=True)
    kind = fields.String(required=True, metadata={"description": "invoice or credit_note"})
    status = fields.String(required=True)
    subscription_id = fields.UUID(allow_none=True)
    transaction_id = fields.UUID(allow_none=True)
    currency = fields.String(required=True)
    subtotal = fields.Integer(required=True, metadata={"description": "Minor units, as every amount."})
    discount = fields.Integer(required=True)
    fee = fields.Integer(required=True)
    total = fields.Integer(required=True)
    payment_method = fields.String(required=True)
    period_start = fields.AwareDateTime(allow_none=True)
    period_end = fields.AwareDateTime(allow_none=True)
    issued_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    paid_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(InvoiceLineOut), required=True)
    pdf = fields.Function(lambda i: f"/api/v1/invoices/{i.id}.pdf", required=True)


class InvoicePageOut(ma.Schema):
    items = fields.List(fields.Nested(InvoiceOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    next = fields.String(allow_none=True, required=True)


class PurchaseOut(ma.Schema):
    order_id = fields.UUID(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(["paid", "pending", "action_required"]),
        metadata={"description": "paid; pending (the gateway confirms later); action_required (3-D Secure)."},
    )
    detail = fields.String(required=True)
    action_secret = fields.String(
        allow_none=True, metadata={"description": "Confirm it with Stripe.js, then send the same request again."}
    )
    invoices = fields.List(fields.Nested(InvoiceOut), required=True)
    subscriptions = fields.List(fields.Nested(SubscriptionOut), required=True)


class CancelIn(ma.Schema):
    when = fields.String(
        load_default=CancelWhen.PERIOD_END.value,
        validate=[validate.OneOf([w.value for w in CancelWhen]), validate.Length(max=20)],
    )


class ChangeQuery(ma.Schema):
    plan_id = ident(required=True)


class PreviewOut(ma.Schema):
    subscription_id = fields.Function(lambda p: p.subscription.id, required=True)
    plan_id = fields.Function(lambda p: p.target.id, required=True)
    kind = fields.Function(lambda p: str(p.kind.value), required=True)
    effective = fields.String(required=True, metadata={"description": "now or period_end"})
    currency = fields.String(required=True)
    credit = fields.Function(lambda p: p.proration.credit, required=True)
    charge = fields.Function(lambda p: p.proration.charge, required=True)
    net = fields.Function(lambda p: p.proration.net, required=True, metadata={"description": "charge − credit"})
    renews_on = fields.AwareDateTime(required=True)
    renewal_total = fields.Integer(required=True)
    fingerprint = fields.String(required=True, metadata={"description": "Send it back to apply this preview."})
    previewed_at = fields.AwareDateTime(attribute="at", required=True)


class ChangeIn(ma.Schema):
    plan_id = ident(required=True)
    fingerprint = required_text(64, metadata={"description": "The preview's fingerprint."})
    previewed_at = fields.AwareDateTime(
        required=True, metadata={"description": "The preview's previewed_at.", "maxLength": 40}
    )


class ChangeOut(ma.Schema):
    change_id = fields.UUID(required=True)
    status = fields.String(required=True)
    confirmed = fields.Boolean(required=True)
    message = fields.String(required=True)


class PaymentOut(ma.Schema):
    id = fields.UUID(required=True)
    kind = fields.String(required=True, metadata={"description": "charge or refund"})
    purpose = fields.String(required=True)
    status = fields.String(required=True)
    amount = fields.Integer(required=True)
    currency = fields.String(required=True)
    subscription_id = fields.UUID(allow_none=True)
    failure_message = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)
    settled_at = fields.AwareDateTime(allow_none=True)
    invoices = fields.List(fields.Nested(InvoiceOut), required=True)


class CardSetupOut(ma.Schema):
    setup_intent = fields.String(required=True, metadata={"description": "Send it as the purchase's setup_intent."})
    client_secret = fields.String(required=True, metadata={"description": "For Stripe's confirmCardSetup."})


class RoleOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    permissions = fields.Function(lambda r: sorted(r.permission_names), required=True)


class RoleIn(ma.Schema):
    role_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class UserRoleOut(ma.Schema):
    user_id = fields.UUID(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
