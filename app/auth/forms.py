"""Forms for the auth pages. They parse and check the shape of input; services decide the rest."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, HiddenField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.auth.emails import InvalidEmail, normalize_email
from app.auth.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from app.auth.phones import normalize_phone
from app.auth.usernames import normalize_username, username_problem
from app.models.user import User

CODE_LENGTH = 6


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class EmailAddress:
    """An address we can deliver to, in its normal form (app/auth/emails.py)."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        try:
            field.data = normalize_email(field.data)
        except InvalidEmail as exc:
            raise ValidationError(str(exc)) from None


class Printable:
    """No control or invisible characters (NUL can't even be stored in Postgres text)."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn") for ch in field.data or ""):
            raise ValidationError("Remove the invisible or control characters from this field.")


class Code:
    def __init__(self, source: str = "the message") -> None:
        self.source = source

    def __call__(self, form: FlaskForm, field: Field) -> None:
        field.data = "".join((field.data or "").split())
        if len(field.data) != CODE_LENGTH or not field.data.isascii() or not field.data.isdigit():
            raise ValidationError(f"Enter the {CODE_LENGTH}-digit code from {self.source}.")


def email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label, filters=[_strip], validators=[DataRequired("Enter your email address."), Length(max=254), EmailAddress()]
    )


def new_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(label, validators=[DataRequired("Choose a password.")])


def check_new_password(field: Field, *, username: str | None, email: str | None) -> None:
    problem = password_problem(field.data or "", username=username, email=email)
    if problem:
        raise ValidationError(problem)


def phone_value(field: Field) -> None:
    """Normalize a phone field to E.164 in place (empty stays None)."""
    if not field.data:
        field.data = None
        return
    try:
        field.data = normalize_phone(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class SignupForm(FlaskForm):
    username = StringField("Username", filters=[normalize_username], validators=[DataRequired("Choose a username.")])
    email = email_field()
    password = new_password_field()
    phone = StringField("Phone (optional)", filters=[_strip], validators=[Optional()])

    def validate_username(self, field: Field) -> None:
        problem = username_problem(field.data or "")
        if problem:
            raise ValidationError(problem)

    def validate_password(self, field: Field) -> None:
        check_new_password(field, username=self.username.data, email=self.email.data)

    def validate_phone(self, field: Field) -> None:
        phone_value(field)


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(f"Enter the {CODE_LENGTH}-digit code."), Code()])


class SecondFactorCode:
    """An authenticator code (6 digits) or a recovery code (10 letters and digits, dashes and spaces ignored)."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        field.data = "".join((field.data or "").split())
        bare = field.data.replace("-", "")
        if not bare.isascii() or not bare.isalnum() or len(bare) not in (CODE_LENGTH, 10):
            raise ValidationError(
                "Enter the 6-digit code from your authenticator app, or a 10-character recovery code."
            )


class SecondFactorForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[DataRequired("Enter the code from your authenticator app."), SecondFactorCode()],
    )


class LoginForm(FlaskForm):
    identifier = StringField(
        "Email, username or phone",
        filters=[_strip],
        validators=[
            DataRequired("Enter your email, username or phone number."),
            Length(max=254, message="That's too long to be an email, username or phone."),
            Printable(),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH, message="That password is too long.")],
    )
    remember = BooleanField("Keep me signed in on this device")


class PasskeySignInForm(FlaskForm):
    """What the login page's passkey button posts: the browser's signed answer (JSON) to our challenge."""

    credential = HiddenField(validators=[DataRequired("Your browser sent no passkey. Try again.")])
    remember = BooleanField("Keep me signed in on this device")


class EmailForm(FlaskForm):
    email = email_field()


class LoginCodeForm(CodeForm):
    remember = BooleanField("Keep me signed in on this device")


class NewPasswordForm(FlaskForm):
    password = new_password_field("New password")

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field: Field) -> None:
        check_new_password(
            field, username=self.user.username if self.user else None, email=self.user.email if self.user else None
        )


PASSWORD_HINT = f"{MIN_LENGTH}–{MAX_LENGTH} characters. Not a common password, your username or your email."


class CheckboxesField(SelectMultipleField):  # type: ignore[misc]  # wtforms ships no types
    """Several choices as a list of checkboxes; values the service does not know are its to refuse."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        return None
