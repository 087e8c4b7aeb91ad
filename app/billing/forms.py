"""Billing forms: parse what a customer posted into the typed requests the billing services take."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from flask import request
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField
from wtforms.validators import ValidationError

from app.account.forms import BillingDetailsForm
from app.account.services import BillingDetails
from app.billing.gateway.cards import CardEntry
from app.billing.services.cart import parse_quantity
from app.billing.services.checkout import OUT_OF_DATE, CheckoutRequest, PaymentMethod, valid_key
from app.billing.services.invoice_payments import OUT_OF_DATE as PAY_OUT_OF_DATE
from app.billing.services.pauses import PauseLength, parse_length
from app.billing.services.plan_changes import ChangeRequest
from app.billing.services.subscriptions import OFF, ON, CancelWhen
from app.errors import ValidationError as AppValidationError
from app.models.user import User


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
    # With Stripe: the SetupIntent the card element confirmed (the card fields are not on the page).
    setup_intent = HiddenField(filters=[_text])

    def validate_idempotency_key(self, field: Field) -> None:
        if not valid_key(field.data):
            raise ValidationError(OUT_OF_DATE)

    def validate_payment_method(self, field: Field) -> None:
        if field.data not in {m.value for m in PaymentMethod}:
            raise ValidationError("Choose card or bank transfer.")

    def command(
        self,
        user_id: uuid.UUID,
        answers: Mapping[uuid.UUID, Mapping[str, str]],
        billing: BillingDetails | None = None,
    ) -> CheckoutRequest:
        method = PaymentMethod(self.payment_method.data)
        card = card_entry(self) if method is PaymentMethod.CARD else CardEntry()
        return CheckoutRequest(
            user_id=user_id,
            idempotency_key=self.idempotency_key.data,
            review_fingerprint=self.review_fingerprint.data,
            payment_method=method,
            card=card,
            setup_intent=str(self.setup_intent.data or "") if method is PaymentMethod.CARD else "",
            answers=answers,
            billing=billing,
        )


class CheckoutBillingForm(BillingDetailsForm):
    """The review page's billing details, fields named billing-… (the page's CSRF token is CheckoutForm's):
    as posted, else the profile's. `given`: whether they came with the submit (an older page sends none)."""

    class Meta:
        csrf = False

    given: bool = False

    @classmethod
    def read(cls, user: User) -> CheckoutBillingForm:
        prefix = "billing"
        given = request.method == "POST" and any(name.startswith(f"{prefix}-") for name in request.form)
        form = cls(formdata=request.form if given else None, prefix=prefix)
        form.given = given
        if not given:
            form.fill_from(user)
        return form

    def details(self) -> BillingDetails | None:
        return self.billing_details() if self.given else None


def first_errors(form: FlaskForm) -> dict[str, str]:
    """Each field's first error: what a service's ValidationError would have said."""
    return {name: str(messages[0]) for name, messages in form.errors.items() if messages}


def require_valid(form: FlaskForm) -> None:
    """Validate `form`, or raise the ValidationError its errors make (shown as the error page or toast)."""
    if not form.validate():
        raise AppValidationError(first_errors(form))


def parse_id(raw: object, what: str = "plan") -> uuid.UUID:
    """An id from a path or a field; a malformed one is a ValidationError naming `{what}_id`."""
    try:
        return uuid.UUID(str(raw or "").strip())
    except ValueError:
        raise AppValidationError(
            {f"{what}_id": f"That {what} doesn't exist. Pick it again from the catalog."}
        ) from None


class _Checked:
    """A WTForms validator from a parse function that raises our ValidationError."""

    def __init__(self, parse: Callable[[object], object]):
        self.parse = parse

    def __call__(self, form: FlaskForm, field: Field) -> None:
        try:
            self.parse(field.data)
        except AppValidationError as exc:
            raise ValidationError(exc.message) from None


class CartAddForm(FlaskForm):
    plan_id = StringField(validators=[_Checked(parse_id)])
    quantity = StringField(validators=[_Checked(parse_quantity)])

    def command(self) -> tuple[uuid.UUID, int]:
        return parse_id(self.plan_id.data), parse_quantity(self.quantity.data)


class QuantityForm(FlaskForm):
    quantity = StringField(validators=[_Checked(parse_quantity)])

    @property
    def value(self) -> int:
        return parse_quantity(self.quantity.data)


class TrialForm(FlaskForm):
    """Start a trial; the product's questions come with `answers_submitted` (their names are the schema's)."""

    plan_id = StringField(validators=[_Checked(parse_id)])
    answers_submitted = HiddenField()


class AutoRenewForm(FlaskForm):
    auto_renew = StringField()

    def validate_auto_renew(self, field: Field) -> None:
        if str(field.data or "").lower() not in ON | OFF:
            raise ValidationError("Choose on or off.")

    @property
    def value(self) -> bool:
        return str(self.auto_renew.data).lower() in ON


class CancelForm(FlaskForm):
    when = StringField()

    def validate_when(self, field: Field) -> None:
        if field.data not in {w.value for w in CancelWhen}:
            raise ValidationError("Choose to cancel now or at the end of the period.")

    @property
    def value(self) -> CancelWhen:
        return CancelWhen(self.when.data)


class PauseForm(FlaskForm):
    """Pause for `cycles` billing periods (1–3) or `until` a date: exactly one (parse_length says which is wrong)."""

    cycles = StringField("Pause for")
    until = StringField("Or resume on")

    def length(self) -> PauseLength:
        return parse_length(self.cycles.data, self.until.data)


class PlanChangeForm(FlaskForm):
    """The preview's confirm button: the plan, the preview's instant and signature, an idempotency key."""

    plan_id = HiddenField(filters=[_text])
    idempotency_key = HiddenField(filters=[_text])
    fingerprint = HiddenField(filters=[_text])
    previewed_at = HiddenField(filters=[_text])

    def command(self, user_id: uuid.UUID, subscription_id: uuid.UUID) -> ChangeRequest:
        return ChangeRequest(
            user_id=user_id,
            subscription_id=subscription_id,
            plan_id=parse_id(self.plan_id.data),
            idempotency_key=self.idempotency_key.data,
            fingerprint=self.fingerprint.data,
            at=_instant(self.previewed_at.data),
        )


def _instant(raw: str) -> datetime | None:
    """A preview's instant (ISO 8601, UTC); None when missing or malformed (the service then previews again)."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


class CardForm(FlaskForm):
    """The card for renewals; checked by the service (`check_card`), which names the field in error."""

    card_number = StringField()
    card_expiry = StringField()
    card_cvc = StringField()
    card_name = StringField()
    setup_intent = HiddenField(filters=[_text])  # with Stripe, instead of the card fields


class PayInvoiceForm(CardForm):
    """Paying an open invoice now: the card (fields, or Stripe's SetupIntent) and the page's idempotency key."""

    idempotency_key = HiddenField(filters=[_text])

    def validate_idempotency_key(self, field: Field) -> None:
        if not valid_key(field.data):
            raise ValidationError(PAY_OUT_OF_DATE)


def card_entry(form: CheckoutForm | CardForm) -> CardEntry:
    return CardEntry(
        number=str(form.card_number.data or ""),
        expiry=str(form.card_expiry.data or ""),
        cvc=str(form.card_cvc.data or ""),
        name=str(form.card_name.data or ""),
    )
