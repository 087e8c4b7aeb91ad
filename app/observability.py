"""JSON log lines carrying the request id, with secrets scrubbed from every record."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

REDACTED = "[REDACTED]"

# Values named like a secret: key=value, key: value, "key": "value", 'key': 'value', ?key=value.
_CODE_NAMES = r"code|\w+_code|code_\w+|otp|\w*_otp|otp_\w*"
_NOT_SECRET_CODES = {
    "status_code",
    "exit_code",
    "postal_code",
    "zip_code",
    "country_code",
    "area_code",
    "error_code",
    "http_code",
    "response_code",
    "return_code",
    "currency_code",
    "language_code",
    "user_otp",
}
_SECRET_NAME = re.compile(
    rf"""(?<![\w-])(?P<q>["']?)(?P<name>[\w-]*(?:password|passwd|secret|token|api[_-]?key|csrf)[\w-]*|{_CODE_NAMES})(?P=q)"""
    r"""(?P<sep>\s*[:=]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&)}\]]+)""",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"(?P<name>\b(?:proxy-)?authorization|\bcookie|\bset-cookie)(?P<sep>[\"']?\s*[:=]\s*)"
    r"(?P<value>[\"'][^\"']*[\"']|[^\r\n]+)",
    re.IGNORECASE,
)
# The reset link carries its token in the path (werkzeug's request lines, links in messages).
_RESET_PATH = re.compile(r"(/password-reset/)[^/?#\s\"'<>]+")
# A signed token or a JWT: three base64url parts.
_SIGNED_TOKEN = re.compile(r"\b[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}\b")
# "your verification code is 123456", "code: 123456"
_CODE_IN_TEXT = re.compile(r"(\bcode\b(?:\s+is)?\s*[:=]?\s*)\d{6}\b", re.IGNORECASE)


def _named(match: re.Match[str]) -> str:
    name = match.group("name")
    if name.lower() in _NOT_SECRET_CODES:
        return match.group(0)
    value = match.group("value")
    quote = value[0] if value[:1] in "'\"" else ""
    return f"{match.group('q')}{name}{match.group('q')}{match.group('sep')}{quote}{REDACTED}{quote}"


def redact(text: str) -> str:
    """`text` with every code, token, password and credential header replaced by [REDACTED]."""
    text = _HEADER.sub(lambda m: f"{m.group('name')}{m.group('sep')}{REDACTED}", text)
    text = _SECRET_NAME.sub(_named, text)
    text = _RESET_PATH.sub(rf"\1{REDACTED}", text)
    text = _SIGNED_TOKEN.sub(REDACTED, text)
    return _CODE_IN_TEXT.sub(rf"\1{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Scrub secrets from a record: its message with the arguments merged in, and its traceback.

    Job descriptions (RQ's "high: jobs.x(...)" lines), SQL parameters, request
    lines and exceptions all pass through here. Jobs are given ids, never
    secrets; this catches whatever is named like one anyway.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let logging report it as it would
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.redacted = True
        return True


def install_redaction() -> None:
    """Redact every record as it is created, before any handler sees it: ours, RQ's, a test's.

    A filter on one handler would miss the others; the record factory is the one
    place every record passes. Idempotent (one process may build several apps).
    """
    previous = logging.getLogRecordFactory()
    if not isinstance(previous, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(previous))


class _RedactingRecordFactory:
    """The record factory that was installed, then the scrub."""

    def __init__(self, previous: Callable[..., logging.LogRecord]):
        self.previous = previous
        self.scrub = RedactSecrets()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        self.scrub.filter(record)
        return record


class _AppLogHandler(logging.StreamHandler[TextIO]):
    """Our handler on the root logger, told apart from handlers others added (a new app replaces it)."""


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exc"] = record.exc_text or redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(app: Flask) -> None:
    install_redaction()
    handler = _AppLogHandler(sys.stderr)
    handler.addFilter(RedactSecrets())  # records made before the factory was installed
    handler.addFilter(RequestIdFilter())
    if app.config.get("LOG_JSON"):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _AppLogHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response
