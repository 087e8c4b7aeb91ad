"""The admin pages' forms: they parse what staff typed; the services decide what is allowed.

Most fields carry no validators of their own: the rule (and its message) lives once, in the
service the form feeds, so the page, the CLI and any future API refuse the same input alike.
`command()` is the form's data as the service takes it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.admin.services import Message, PlanValues, ProductValues
from app.http_guards import int_id

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


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes; values the service does not know are its to refuse."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        return None


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
        return self.action.data == "preview"

    def message(self) -> Message:
        return Message(title=_text(self.title.data), body=_text(self.body.data), link=self.link.data or None)


class TrialExtensionForm(FlaskForm):
    days = StringField("Extend the trial by (days)", default="7")


class CancelForm(FlaskForm):
    when = StringField()


class RefundForm(FlaskForm):
    reason = StringField("Refund reason")

    def command(self) -> dict[str, str]:
        return {"reason": _text(self.reason.data)[:2000]}


class ProductForm(FlaskForm):
    name = StringField("Name")
    slug = StringField("Slug")
    tagline = StringField("Tagline")
    category = StringField("Category")
    icon = StringField("Icon")
    description = TextAreaField("Description")
    product_schema = TextAreaField("Checkout questions")
    is_active = BooleanField("Active — listed in the catalog once it has an active plan", default=True)
    intent = StringField()  # "preview": check the schema, save nothing

    @property
    def previewing(self) -> bool:
        return self.intent.data == "preview"

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
        )


class PlanForm(FlaskForm):
    name = StringField("Name")
    billing_cycle = SelectField("Billing cycle", choices=[], default="monthly", validate_choice=False)
    price = StringField("Price per cycle")
    currency = StringField("Currency", default="USD")
    discount_percent = StringField("Discount (%)", default="0")
    trial_days = StringField("Trial days", default="0")
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
            features=features,
            sort_order=_text(self.sort_order.data),
            is_active=bool(self.is_active.data),
        )
