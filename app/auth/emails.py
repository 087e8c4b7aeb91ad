"""Email addresses: the shape check shared by forms and the CLI."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def email_problem(email: str) -> str | None:
    if len(email) > 254:
        return "That email address is too long."
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return "Enter a valid email address, like name@example.com."
    return None
