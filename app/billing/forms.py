"""Billing forms: parse what a customer posted into the typed requests the billing services take."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField
from wtforms.validators import ValidationError

from app.billing.checkout import OUT_OF_DATE, CheckoutRequest, PaymentMethod, valid_key
from app.billing.gateway.cards import CardEntry


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


class CheckoutForm(FlaskForm):
    """The review page's submit. The card is checked by the service, after a replayed key is recognised."""

    idempotency_key = HiddenField(filters=[_text])
    review_fingerprint = HiddenField(filters=[_text])
    payment_method = StringField(filters=[lambda v: _text(v) or PaymentMethod.CARD.value])
    card_number = StringField()
    card_expiry = StringField()
    card_cvc = StringField()
    card_name = StringField()

    def validate_idempotency_key(self, field: Field) -> None:
        if not valid_key(field.data):
            raise ValidationError(OUT_OF_DATE)

    def validate_payment_method(self, field: Field) -> None:
        if field.data not in {m.value for m in PaymentMethod}:
            raise ValidationError("Choose card or bank transfer.")

    def command(self, user_id: uuid.UUID, answers: Mapping[uuid.UUID, Mapping[str, str]]) -> CheckoutRequest:
        method = PaymentMethod(self.payment_method.data)
        card = (
            CardEntry(
                number=str(self.card_number.data or ""),
                expiry=str(self.card_expiry.data or ""),
                cvc=str(self.card_cvc.data or ""),
                name=str(self.card_name.data or ""),
            )
            if method is PaymentMethod.CARD
            else CardEntry()
        )
        return CheckoutRequest(
            user_id=user_id,
            idempotency_key=self.idempotency_key.data,
            review_fingerprint=self.review_fingerprint.data,
            payment_method=method,
            card=card,
            answers=answers,
        )
