"""The errors services raise, defined once.

A service raises `ValidationError({field: message, ...})` for bad input and one of
the domain errors below when the request cannot be done as asked. None of them
knows HTTP: pages map them to a status and a form (`app/web.py`), error pages and
toasts render them (`app/error_pages.py`), the CLI prints them, the API turns
them into problem documents.
"""

from __future__ import annotations

from collections.abc import Mapping

# The key of an error about the input as a whole rather than one of its fields.
FORM = "__all__"


class AppError(Exception):
    """A request the service could not carry out; `message` says why, for the person who asked."""

    title = "Something went wrong"

    def __init__(self, message: str | None = None, *, field: str | None = None):
        super().__init__(message or self.title)
        self.message = message or self.title
        self.field = field  # the input the message is about, when there is one


class ValidationError(AppError):
    """Bad input: `errors` maps each field in error (or FORM) to its message. Nothing was changed."""

    title = "Please check what you entered"

    def __init__(self, errors: Mapping[str, str]):
        if not errors:
            raise ValueError("a ValidationError names at least one field")
        self.errors: dict[str, str] = dict(errors)
        field, message = next(iter(self.errors.items()))
        super().__init__(message, field=None if field == FORM else field)


class AuthenticationError(AppError):
    title = "Please sign in"


class PermissionDenied(AppError):
    title = "You can't do that"


class NotFound(AppError):
    title = "Not found"


class Conflict(AppError):
    title = "That conflicts with the current state"


class PaymentDeclined(AppError):
    title = "The payment was declined"


class RateLimited(AppError):
    title = "Too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int = 60, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = retry_after


class ExternalServiceError(AppError):
    title = "A service we depend on did not answer"
