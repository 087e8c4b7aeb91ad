"""Profile and password forms."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, Field, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.account.services import BAD_ZONE, BillingDetails, Profile
from app.auth.forms import CheckboxesField, Code, Printable, check_new_password, email_field, phone_value
from app.dates import offset_label, zone_named, zone_names
from app.models.user import User

GENDERS = {"": "Prefer not to say", "female": "Female", "male": "Male", "non_binary": "Non-binary", "other": "Other"}
ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code", "country")


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class PlainText:
    """Letters (any script), spaces and a little punctuation; digits where they belong.

    Keeps markup, SQL-looking input and invisible characters (zero-width spaces,
    control characters) out of names and addresses, with a message that says what's allowed.
    """

    def __init__(self, punctuation: str, digits: bool, allowed: str) -> None:
        self.punctuation, self.digits, self.allowed = punctuation, digits, allowed

    def __call__(self, form: FlaskForm, field: Field) -> None:
        for ch in field.data or "":
            category = unicodedata.category(ch)
            if category[0] in "LM" or ch == " " or ch in self.punctuation or (self.digits and category == "Nd"):
                continue
            shown = "invisible or control characters" if category[0] in "CZ" else f"“{ch}”"
            raise ValidationError(f"{shown} can't be used here. Use {self.allowed}.")


NAME = PlainText(".'-", digits=False, allowed="letters, spaces, apostrophes, dots and hyphens")
PLACE = PlainText(".'-()", digits=False, allowed="letters, spaces and . ' - ( )")
ADDRESS_LINE = PlainText(".,'-#/&()", digits=True, allowed="letters, digits, spaces and . , ' - # / & ( )")
POSTCODE = PlainText("-", digits=True, allowed="letters, digits, spaces and hyphens")
TAX_ID = PlainText("-./", digits=True, allowed="letters, digits, spaces and . - /")


def zone_choices() -> dict[str, list[tuple[str, str]]]:
    """Every IANA zone, grouped by region, each labelled with its offset from UTC now."""
    now = datetime.now(UTC)
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in zone_names():
        region = name.partition("/")[0] if "/" in name else "Other"
        zone = zone_named(name)
        offset = f" ({offset_label(zone, now)})" if zone else ""
        groups.setdefault(region, []).append((name, name.replace("_", " ") + offset))
    return dict(sorted(groups.items(), key=lambda item: (item[0] == "Other", item[0])))


def _text(label: str, max_length: int, rule: PlainText) -> StringField:
    return StringField(
        label,
        filters=[_strip],
        validators=[Optional(), Length(max=max_length, message=f"Use at most {max_length} characters."), rule],
    )


class _AboutYou(FlaskForm):
    """The profile's first fields (declared first: a form lists its fields in the order they were made)."""

    first_name = _text("First name", 80, NAME)
    last_name = _text("Last name", 80, NAME)
    gender = SelectField("Gender", choices=[SelectChoice(value, label) for value, label in GENDERS.items()], default="")
    date_of_birth = DateField("Date of birth", validators=[Optional()], format="%Y-%m-%d")


class BillingDetailsForm(FlaskForm):
    """Company, address and tax id, printed on invoices: one set of rules for the profile and the checkout."""

    company = _text("Company", 120, ADDRESS_LINE)
    line1 = _text("Address line 1", 120, ADDRESS_LINE)
    line2 = _text("Address line 2", 120, ADDRESS_LINE)
    city = _text("City", 80, PLACE)
    region = _text("State / region", 80, PLACE)
    postal_code = _text("Postal code", 20, POSTCODE)
    country = _text("Country", 56, PLACE)
    tax_id = _text("Tax ID (VAT, EIN …)", 60, TAX_ID)

    def fill_from(self, user: User) -> None:
        """Show the details `user` has (a page's first view, before anything is posted)."""
        self.company.data, self.tax_id.data = user.company or "", user.tax_id or ""
        for name in ADDRESS_FIELDS:
            self[name].data = (user.address or {}).get(name, "")

    def billing_details(self) -> BillingDetails:
        return BillingDetails(
            company=self.company.data or "",
            address={name: self[name].data or "" for name in ADDRESS_FIELDS},
            tax_id=self.tax_id.data or "",
        )


class ProfileForm(_AboutYou, BillingDetailsForm):
    phone = StringField("Phone", filters=[_strip], validators=[Optional()])
    timezone = SelectField("Time zone", validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = zone_choices()

    def validate_timezone(self, field: Field) -> None:
        if field.data and zone_named(field.data) is None:
            raise ValidationError(BAD_ZONE)

    def validate_gender(self, field: Field) -> None:
        if field.data not in GENDERS:
            raise ValidationError("Choose one of the options.")

    def validate_date_of_birth(self, field: Field) -> None:
        if field.data and not (date(1900, 1, 1) <= field.data <= datetime.now(UTC).date()):
            raise ValidationError("Enter a date between 1900 and today.")

    def validate_phone(self, field: Field) -> None:
        phone_value(field)

    def profile(self) -> Profile:
        return Profile(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            gender=self.gender.data or None,
            date_of_birth=self.date_of_birth.data,
            billing=self.billing_details(),
            timezone=self.timezone.data or None,
        )


class DetectedTimezoneForm(FlaskForm):
    """What static/js/timezone.js posts: the zone the browser reports."""

    timezone = StringField("Time zone", filters=[_strip])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[
            DataRequired("Enter your current password."),
            Length(max=128, message="That password is too long."),
        ],
    )
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")])

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field: Field) -> None:
        check_new_password(field, username=self.user.username, email=self.user.email)


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=128, message="That password is too long.")],
    )


def passkey_name_field(required: bool) -> StringField:
    first = DataRequired("Give the passkey a name.") if required else Optional()
    return StringField(
        "Passkey name",
        filters=[_strip],
        validators=[first, Length(max=60, message="Use at most 60 characters."), Printable()],
    )


class PasskeyAddForm(FlaskForm):
    """The browser's answer to the registration challenge (JSON, filled in by static/js/passkeys.js) and a name."""

    name = passkey_name_field(required=False)
    credential = HiddenField(validators=[DataRequired("Your browser sent no passkey. Try again.")])


class PasskeyRenameForm(FlaskForm):
    name = passkey_name_field(required=True)


class SetPasswordForm(FlaskForm):
    """A password for an account that has none (social or code sign-in only), after step-up."""

    password = PasswordField("New password", validators=[DataRequired("Choose a password.")])

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field: Field) -> None:
        check_new_password(field, username=self.user.username, email=self.user.email)


class EmailChangeForm(FlaskForm):
    email = email_field("New email address")


class DeleteAccountForm(FlaskForm):
    """Typing the username confirms a deletion: the page names it, so a slip of the mouse deletes nothing."""

    username = StringField(
        "Username",
        filters=[_strip],
        validators=[
            DataRequired("Type the username to confirm."),
            Length(max=30, message="That is longer than any username."),
            Printable(),
        ],
    )


class EnableTotpForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired("Enter the 6-digit code your app shows."), Code("your authenticator app")],
    )


class PersonalTokenForm(FlaskForm):
    """A personal access token for scripts: a name and its scopes (the service checks which are allowed)."""

    name = StringField(
        "Name", validators=[DataRequired("Name the token, e.g. “backup script”."), Length(max=80), Printable()]
    )
    scopes = CheckboxesField("Scopes", choices=[])  # the scopes the account may grant (app/account/api_tokens.py)
