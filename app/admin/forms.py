"""The admin pages' forms: they parse what staff typed; the services decide what is allowed.

Most fields carry no validators of their own: the rule (and its message) lives once, in the
service the form feeds, so the page, the CLI and any future API refuse the same input alike.
`command()` is the form's data as the service takes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SearchField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from app.admin.listing import MAX_Q
from app.admin.queries import BillingFilters
from app.admin.services import Message, PlanValues, ProductValues
from app.auth.forms import CheckboxesField
from app.billing import coupons
from app.billing.coupons import CodeValues, CouponValues
from app.billing.seller import SellerDetails
from app.errors import ValidationError as AppValidationError
from app.http_guards import int_id

if TYPE_CHECKING:
    # wtforms ships no type information: the part of its base classes these forms use (FlaskForm: typings/).
    class Form:
        errors: dict[str, Any]

        def __init__(self, formdata: Any = ..., **kwargs: Any) -> None: ...
        def __getitem__(self, name: str) -> Any: ...
        def __iter__(self) -> Iterator[Any]: ...
else:
    from wtforms import Form

EVERYONE = "all"


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _text(value: str | None) -> str:
    return value or ""


class FeeForm(FlaskForm):
    percent = StringField("New fee (%)")
    reason = StringField("Reason")

    def command(self) -> dict[str, str]:
        return {"percent": _text(self.percent.data), "reason": _text(self.reason.data)}


class SellerForm(FlaskForm):
    """The seller block of every invoice (the fee page's second form)."""

    name = StringField("Legal name")
    address = TextAreaField("Address")
    tax_id = StringField("Tax ID (VAT, EIN …)")

    def command(self) -> dict[str, SellerDetails]:
        return {
            "details": SellerDetails(
                name=_text(self.name.data), address=_text(self.address.data), tax_id=_text(self.tax_id.data)
            )
        }


class RoleForm(FlaskForm):
    name = StringField("Name")
    description = StringField("Description")
    permissions = CheckboxesField("Permissions", choices=[])

    def command(self) -> dict[str, Any]:
        return {
            "name": _text(self.name.data),
            "description": _text(self.description.data),
            "permission_names": list(self.permissions.data or []),
        }


class UserRoleForm(FlaskForm):
    role_id = SelectField("Role", choices=[], validate_choice=False)

    def command(self) -> dict[str, int | None]:
        return {"role_id": int_id(self.role_id.data)}


class AnnouncementForm(FlaskForm):
    audience = SelectField(
        "Audience", choices=[SelectChoice(EVERYONE, "Everyone")], default=EVERYONE, validate_choice=False
    )
    title = StringField("Title", filters=[_strip])
    body = TextAreaField("Message", filters=[_strip])
    link = StringField("Link", filters=[_strip])
    action = StringField()  # which button was pressed: "preview" or "send"

    def validate_audience(self, field: SelectField) -> None:
        if self.product_id() is None and (field.data or EVERYONE) != EVERYONE:
            raise ValidationError("Choose everyone or one of the products")

    def product_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(self.audience.data or ""))
        except ValueError:
            return None

    @property
    def previewing(self) -> bool:
        return bool(self.action.data == "preview")

    def message(self) -> Message:
        return Message(title=_text(self.title.data), body=_text(self.body.data), link=self.link.data or None)


class TrialExtensionForm(FlaskForm):
    days = StringField("Extend the trial by (days)", default="7")


class CancelForm(FlaskForm):
    when = StringField()


class SubscriptionPauseForm(FlaskForm):
    """Pause a customer's subscription: 1–3 periods or a date (parse_length judges), and why."""

    cycles = StringField("Pause for (billing periods)")
    until = StringField("Or resume on")
    reason = StringField("Reason")


class SubscriptionResumeForm(FlaskForm):
    reason = StringField("Reason")


class RefundForm(FlaskForm):
    amount = StringField("Amount to refund")
    reason = StringField("Refund reason")
    destination = RadioField(
        "Refund to",
        choices=[
            SelectChoice("card", "The card (or the bank account) that paid"),
            SelectChoice("balance", "The customer's credit balance (pays their next invoices)"),
        ],
        default="card",
        validate_choice=False,  # the service says what is wrong with another value
    )
    # A fresh key per rendered form: submitting the same form twice finds the first refund.
    key = HiddenField(default=lambda: str(uuid.uuid4()))

    def command(self) -> dict[str, str]:
        return {
            "amount": _text(self.amount.data)[:40],
            "reason": _text(self.reason.data)[:2000],
            "key": _text(self.key.data)[:40],
            "destination": _text(self.destination.data)[:20],
        }


class CreditAdjustForm(FlaskForm):
    """Staff's change to a customer's credit balance; the service checks the amount, currency and reason."""

    amount = StringField("Amount")
    currency = StringField("Currency", default="USD")
    reason = StringField("Reason")

    def command(self) -> dict[str, str]:
        return {
            "amount": _text(self.amount.data)[:40],
            "currency": _text(self.currency.data)[:10],
            "reason": _text(self.reason.data)[:2000],
        }


class ProductForm(FlaskForm):
    name = StringField("Name")
    slug = StringField("Slug")
    tagline = StringField("Tagline")
    category = StringField("Category")
    icon = StringField("Icon")
    description = TextAreaField("Description")
    product_schema = TextAreaField("Checkout questions")
    is_active = BooleanField("Active — listed in the catalog once it has an active plan", default=True)
    access_while_paused = BooleanField("Access continues while paused — a paused subscription keeps using it")
    downgrade_timing = SelectField(
        "A switch to a cheaper plan takes effect",
        choices=[
            SelectChoice("period_end", "At the end of the period (a scheduled change the customer can cancel)"),
            SelectChoice("now", "At once, the unused time credited to the customer's credit balance"),
        ],
        default="period_end",
        validate_choice=False,  # the service says what is wrong with another value
    )
    intent = StringField()  # "preview": check the schema, save nothing

    @property
    def previewing(self) -> bool:
        return bool(self.intent.data == "preview")

    def values(self) -> ProductValues:
        return ProductValues(
            slug=_text(self.slug.data),
            name=_text(self.name.data),
            category=_text(self.category.data),
            tagline=_text(self.tagline.data),
            description=_text(self.description.data),
            icon=_text(self.icon.data),
            schema_json=_text(self.product_schema.data),
            is_active=bool(self.is_active.data),
            access_while_paused=bool(self.access_while_paused.data),
            downgrade_timing=_text(self.downgrade_timing.data),
        )


class PlanForm(FlaskForm):
    name = StringField("Name")
    billing_cycle = SelectField("Billing cycle", choices=[], default="monthly", validate_choice=False)
    price = StringField("Price per cycle")
    currency = StringField("Currency", default="USD")
    discount_percent = StringField("Discount (%)", default="0")
    trial_days = StringField("Trial days", default="0")
    per_seat = BooleanField("Priced per seat — the customer chooses how many")
    min_seats = StringField("Minimum seats", default="1")
    max_seats = StringField("Maximum seats", default="100")
    features = TextAreaField("Features")
    sort_order = StringField("Position")
    is_active = BooleanField("Active — open to new subscriptions", default=True)

    def values(self) -> PlanValues:
        """The price as typed, features one per line."""
        features = [line.strip() for line in _text(self.features.data).splitlines() if line.strip()]
        return PlanValues(
            name=_text(self.name.data),
            billing_cycle=_text(self.billing_cycle.data),
            amount=_text(self.price.data),
            currency=_text(self.currency.data),
            discount_percent=_text(self.discount_percent.data),
            trial_days=_text(self.trial_days.data),
            per_seat=bool(self.per_seat.data),
            min_seats=_text(self.min_seats.data),
            max_seats=_text(self.max_seats.data),
            features=features,
            sort_order=_text(self.sort_order.data),
            is_active=bool(self.is_active.data),
        )


def _search(value: Any) -> str:
    # Postgres refuses NUL in text: searching for one would be a 500.
    return str(value or "").replace("\x00", "").strip()[:MAX_Q]


class ListFilterForm(Form):
    """A list's filters, from the query string (no CSRF: a GET changes nothing).

    A choice the list does not offer is ignored (the list shows everything); a malformed date is
    reported beside its field, and the list answers 400 with that filter left out.
    """

    q = SearchField("Search", filters=[_search])
    status = SelectField("Status", choices=[], validate_choice=False)
    kind = SelectField("Kind", choices=[], validate_choice=False)
    product = SelectField("Product", choices=[], validate_choice=False)
    role = SelectField("Role", choices=[], validate_choice=False)
    category = SelectField("Category", choices=[], validate_choice=False)
    action = SelectField("Action", choices=[], validate_choice=False)
    start = StringField("From", name="from")
    end = StringField("to", name="to")

    def offer(self, name: str, choices: list[tuple[str, str]]) -> None:
        """Let `name` choose among `choices` (value, label); the first is the "any" choice, value ""."""
        self[name].choices = [SelectChoice(value, label) for value, label in choices]

    def choice(self, name: str) -> str:
        """The value chosen for `name`, or "" when it is not one of the choices offered."""
        field = self[name]
        value = str(field.data or "")
        return value if value and value in {c.value for c in field.choices} else ""

    def _date(self, field: StringField) -> date | None:
        raw = str(field.data or "").strip()
        if not raw:
            return None
        try:
            if len(raw) != 10:
                raise ValueError(raw)
            return date.fromisoformat(raw)
        except ValueError:
            field.errors, field.data = ["Use a date like 2026-03-31."], ""  # left out, as the list leaves it out
            return None

    def filters(self) -> BillingFilters:
        start, end = self._date(self.start), self._date(self.end)
        if start and end and start > end:
            self.end.errors = ["The end date is before the start date."]
            start = end = None
        product = self.choice("product")
        return BillingFilters(
            q=self.q.data or "",
            status=self.choice("status"),
            kind=self.choice("kind"),
            start=start,
            end=end,
            product_id=uuid.UUID(product) if product else None,
        )

    @property
    def problems(self) -> dict[str, str]:
        """The message of each filter left out, by its name in the query string."""
        return {f.name: " ".join(f.errors) for f in (self.start, self.end) if f.errors}


class CouponForm(FlaskForm):
    """A new coupon and its first code. `command()` parses the text (ValidationError beside the field);
    the coupon service decides the rest."""

    code = StringField("Promotion code")
    kind = SelectField(
        "Discount",
        choices=[SelectChoice("percent", "Percent off"), SelectChoice("amount", "Amount off")],
        default="percent",
    )
    percent_off = StringField("Percent off")
    amount_off = StringField("Amount off")
    currency = StringField("Currency of the amount")
    duration = SelectField(
        "Duration",
        choices=[
            SelectChoice("once", "Once (first invoice)"),
            SelectChoice("repeating", "Repeating (N invoices)"),
            SelectChoice("forever", "Forever"),
        ],
        default="once",
    )
    cycles = StringField("Invoices (repeating)")
    max_redemptions = StringField("Maximum redemptions")
    expires_at = StringField("Expires (YYYY-MM-DD)")  # the service's name: its errors land here
    first_purchase_only = BooleanField("First purchase only")
    products = CheckboxesField("Only for these products (none: all)", choices=[])

    def command(self) -> CouponValues:
        errors: dict[str, str] = {}
        kind = self.kind.data
        currency = _text(self.currency.data).upper()

        def whole(name: str, raw: object) -> int | None:
            text = _text(str(raw or ""))
            if not text:
                return None
            if not text.isdigit() or len(text) > 9:
                errors[name] = "Enter a whole number."
                return None
            return int(text)

        percent = amount = None
        if kind == "percent":
            text = _text(self.percent_off.data)
            try:
                percent = Decimal(text)
            except InvalidOperation:
                errors["percent_off"] = "Enter a percent from 1 to 100."
        elif kind == "amount":
            try:
                amount = coupons.parse_amount(_text(self.amount_off.data), currency or "USD")
            except ValueError:
                errors["amount_off"] = "Enter an amount such as 5.00."
        else:
            errors["kind"] = "Choose percent off or amount off."
        expires_at = None
        if _text(self.expires_at.data):
            try:
                day = date.fromisoformat(_text(self.expires_at.data))
                expires_at = datetime.combine(day, time.max, tzinfo=UTC)
            except ValueError:
                errors["expires_at"] = "Enter a date as YYYY-MM-DD."
        cycles = whole("cycles", self.cycles.data)
        maximum = whole("max_redemptions", self.max_redemptions.data)
        product_ids = []
        for raw in self.products.data or []:
            try:
                product_ids.append(uuid.UUID(str(raw)))
            except ValueError:
                errors["products"] = "Choose products from the list."
        if errors:
            raise AppValidationError(errors)
        return CouponValues(
            code=_text(self.code.data),
            duration=self.duration.data,
            percent_off=percent,
            amount_off=amount,
            currency=currency if kind == "amount" else None,
            cycles=cycles if self.duration.data == "repeating" else None,
            max_redemptions=maximum,
            expires_at=expires_at,
            first_purchase_only=bool(self.first_purchase_only.data),
            product_ids=product_ids,
        )


class CodeForm(FlaskForm):
    """Another promotion code for an existing coupon. `command()` parses the text (ValidationError beside the
    field); the coupon service decides the rest. Its fields are prefixed (`add-`) to live beside CouponForm."""

    coupon = SelectField("Coupon", choices=[], validate_choice=False)
    code = StringField("New promotion code")
    max_redemptions = StringField("Maximum redemptions of this code")
    expires_at = StringField("This code expires (YYYY-MM-DD)")  # the service's name: its errors land here

    def coupon_id(self) -> uuid.UUID:
        try:
            return uuid.UUID(str(self.coupon.data or ""))
        except ValueError:
            raise AppValidationError({"coupon": "Choose a coupon from the list."}) from None

    def command(self) -> CodeValues:
        errors: dict[str, str] = {}
        maximum = None
        text = _text(self.max_redemptions.data)
        if text:
            if not text.isdigit() or len(text) > 9:
                errors["max_redemptions"] = "Enter a whole number."
            else:
                maximum = int(text)
        expires_at = None
        if _text(self.expires_at.data):
            try:
                expires_at = datetime.combine(date.fromisoformat(_text(self.expires_at.data)), time.max, tzinfo=UTC)
            except ValueError:
                errors["expires_at"] = "Enter a date as YYYY-MM-DD."
        if errors:
            raise AppValidationError(errors)
        return CodeValues(code=_text(self.code.data), max_redemptions=maximum, expires_at=expires_at)
