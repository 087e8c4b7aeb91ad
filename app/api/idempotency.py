"""`Idempotency-Key` on the API's money-moving POSTs, with Stripe's semantics.

- Same key (per user) + same request → the stored answer is replayed: its status and body, with
  `Idempotent-Replayed: true`.
- Same key + a different request (method, path or JSON body) → a 409 problem; nothing runs.
- Keys are kept 24 hours, in Redis with a TTL: they expire by themselves, with no table to sweep.
  Redis holds only the *answer*: what makes a charge happen once is the billing service's own key
  (checkout attempts and plan changes are unique by an idempotency key in PostgreSQL, derived from
  this one by `service_key`), so a Redis that forgot a key replays nothing but still charges nothing twice.
- A duplicate that arrives while the first is still running waits for it (at most WAIT_SECONDS) on a
  Redis lock, its database connection back in the pool meanwhile, then replays its answer. The lock
  expires after HOLD_SECONDS so a crashed worker can't wedge a key. (A PostgreSQL advisory lock lives on
  one connection: each waiting duplicate would hold one, and a burst of them would exhaust the pool the
  first request needs to finish.)

Answers of 5xx are not stored (Stripe's rule for requests that didn't complete): a retry runs again,
and the service's own key decides whether anything is left to do.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import secrets
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar, cast

import redis
from flask import current_app, request
from werkzeug.wrappers import Response

from app.api.kit import current_token
from app.errors import Conflict, ValidationError
from app.extensions import db

V = TypeVar("V", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
TTL_SECONDS = 24 * 3600
WAIT_SECONDS = 30
HOLD_SECONDS = 120
REPLAYED = "Idempotent-Replayed"
BAD_KEY = f"Send an {HEADER} of 1 to {MAX_LENGTH} printable ASCII characters."
REUSED = f"This {HEADER} was used with a different request. Use a new key for a new request."
STILL_RUNNING = f"A request with this {HEADER} is still being processed. Try again in a moment."

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": (
        "Makes the request safe to retry: the same key with the same body replays the first answer "
        "(for 24 hours); with another body it is refused with 409."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": "^[\\x21-\\x7e]+$"},
}


def _client() -> redis.Redis:
    return cast(redis.Redis, current_app.extensions["redis"])


def given_key() -> str | None:
    """The request's Idempotency-Key (checked), or None when it sent none."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_LENGTH or not all(0x21 <= ord(c) <= 0x7E for c in raw):
        raise ValidationError({HEADER: BAD_KEY})
    return raw


def service_key(kind: str) -> str:
    """The key a billing service records its attempt under: derived from the user and the request's
    Idempotency-Key (so a retry finds the first attempt), or a fresh one when the request sent none."""
    raw = given_key()
    if raw is None:
        return f"api-{secrets.token_urlsafe(24)}"
    digest = hashlib.sha256(f"{kind}:{current_token().user_id}:{raw}".encode()).hexdigest()
    return f"api-{digest[:60]}"


def _fingerprint() -> str:
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None else request.get_data()
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical!s}".encode()).hexdigest()


def _replay(stored: dict[str, Any], fingerprint: str) -> Response:
    if stored["fingerprint"] != fingerprint:
        raise Conflict(REUSED)
    response = Response(stored["body"], status=stored["status"], mimetype=stored["mimetype"])
    response.headers[REPLAYED] = "true"
    return response


def _load(name: str) -> dict[str, Any] | None:
    raw = _client().get(name)
    return cast(dict[str, Any], json.loads(raw)) if raw else None


def _store(name: str, fingerprint: str, response: Response) -> None:
    stored = {
        "fingerprint": fingerprint,
        "status": response.status_code,
        "mimetype": response.mimetype,
        "body": response.get_data(as_text=True),
    }
    _client().set(name, json.dumps(stored), ex=TTL_SECONDS)


def _run(view: Callable[..., Any], args: Any, kwargs: Any) -> Response:
    """The view's answer as a response, errors included (rendered by the app's handlers, as they would be)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return cast(Response, app.make_response(view(*args, **kwargs)))
    except Exception as exc:  # noqa: BLE001  # the app's own handlers turn it into a problem document
        return cast(Response, app.make_response(app.handle_user_exception(exc)))


def _answer(view: Callable[..., Any], args: Any, kwargs: Any, key: str) -> Response:
    name = f"api:idempotency:{current_token().user_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    fingerprint = _fingerprint()
    stored = _load(name)
    if stored is not None:
        return _replay(stored, fingerprint)
    lock = _client().lock(f"{name}:lock", timeout=HOLD_SECONDS, blocking_timeout=WAIT_SECONDS)
    if not lock.acquire(blocking=False):
        db.session.commit()  # wait without holding a pooled connection (the first request needs one)
        if not lock.acquire():
            raise Conflict(STILL_RUNNING)
    try:
        stored = _load(name)  # the first finished while this one waited
        if stored is not None:
            return _replay(stored, fingerprint)
        response = _run(view, args, kwargs)
        if response.status_code < 500:
            _store(name, fingerprint, response)
        return response
    finally:
        with contextlib.suppress(redis.exceptions.LockError):  # it outlived HOLD_SECONDS: expired already
            lock.release()


def idempotent(view: V) -> V:
    """Honour an Idempotency-Key on this operation (put it between `auth` and `arguments`)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = given_key()
        if key is None:
            return view(*args, **kwargs)
        return _answer(view, args, kwargs, key)

    wrapped._apidoc = deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
    manual = wrapped._apidoc.setdefault("manual_doc", {})  # type: ignore[attr-defined]
    manual["parameters"] = [*manual.get("parameters", []), PARAMETER]
    return cast(V, wrapped)
