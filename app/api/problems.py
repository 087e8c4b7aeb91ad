"""RFC 9457 problem documents: how every error under /api/ is answered (application/problem+json).

`type` is a stable URN per kind of problem (clients switch on it, not on `detail`, which is
for people); validation problems add `errors: {field: message}`. app/error_pages.py sends
every error of an /api/ request here, so 404s, 405s, 413s, rate limits and 500s under /api/
are problem documents while the pages keep their error pages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import request
from werkzeug.exceptions import HTTPException

from app.errors import AppError, RateLimited, ValidationError
from app.http_guards import API_PREFIX
from app.web import status_of

MEDIA_TYPE = "application/problem+json"
URN = "urn:multiproduct:problem:"

# The kind of problem each status is, unless the error names a more precise one.
KINDS = {
    400: "bad-request",
    401: "unauthorized",
    402: "payment-declined",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    431: "headers-too-large",
    500: "server-error",
    502: "upstream-error",
    503: "unavailable",
}
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    402: "Payment declined",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}

Problem = tuple[str, int, dict[str, str]]


def is_api_request() -> bool:
    return request.path == API_PREFIX.rstrip("/") or request.path.startswith(API_PREFIX)


def type_for(kind: str) -> str:
    return URN + kind


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Problem:
    body: dict[str, Any] = {
        "type": type_for(kind or KINDS.get(status, "error")),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = dict(errors)
    return json.dumps(body), status, {**(headers or {}), "Content-Type": MEDIA_TYPE}


def from_app_error(exc: AppError) -> Problem:
    """A service's domain error: its message is the detail; a ValidationError's fields are `errors`."""
    if isinstance(exc, ValidationError):
        return problem(422, exc.message, errors=exc.errors)
    status = status_of(exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    errors = {exc.field: exc.message} if exc.field and status in (401, 409) else None
    if status == 401:
        # A failed sign-in (wrong password or code): not "send a token", which WWW-Authenticate would say.
        return problem(401, exc.message, kind="authentication-failed", errors=errors)
    return problem(status, exc.message, errors=errors, headers=headers)


def flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's {location: {field: [messages]}} (nested for nested fields) → {"a.b": "message; message"}."""
    if isinstance(messages, Mapping):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": "; ".join(messages)}
    if isinstance(messages, list | tuple):
        flat = {}
        for i, value in enumerate(messages):
            flat.update(flatten(value, f"{prefix}.{i}" if prefix else str(i)))
        return flat
    return {prefix or "body": str(messages)}


def request_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """The fields webargs found wrong, without its location level (json, query …); `_schema` is the body itself."""
    messages = data.get("messages") or {}
    located = messages.values() if isinstance(messages, Mapping) else [messages]
    errors: dict[str, str] = {}
    for per_location in located:
        errors.update(flatten(per_location))
    return {("body" if k == "_schema" else k): v for k, v in errors.items()}


def from_http_exception(exc: HTTPException) -> Problem:
    """werkzeug's errors (404, 405, 413 …), webargs' (422 with the fields, 400 for bad JSON), ours (401, 403)."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    headers = dict(exc.get_headers()) if status in (401, 405) else {}
    headers.pop("Content-Type", None)
    detail = DETAILS.get(status) if status in (404, 405) else exc.description or TITLES.get(status, "Error")
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if status == 403 and "scope" in (exc.description or ""):
        headers["WWW-Authenticate"] = 'Bearer realm="api", error="insufficient_scope"'
        return problem(403, detail or "", kind="insufficient-scope", headers=headers)
    if status == 422 and data:
        return problem(422, "Some fields are missing or wrong.", errors=request_errors(data))
    if status == 400 and data:
        return problem(400, "The body isn't valid JSON.", kind="malformed-body")
    return problem(status, detail or TITLES.get(status, "Error"), headers=headers)


DETAILS = {
    404: "There is nothing at this address of the API.",
    405: "This address of the API doesn't take that method.",
}
