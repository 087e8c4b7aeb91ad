"""The API's kit: the smorest `Api`, `ApiBlueprint` (bearer auth and documented errors on each
operation) and the request guards of /api/.

Adding an endpoint:

    blp = ApiBlueprint("api_things", __name__, url_prefix="/api/v1/things", description="Things.")

    @blp.route("/<uuid:thing_id>")
    @blp.auth("read")                     # bearer token with this scope (401/403 documented)
    @blp.errors(404)                      # the problem documents it may answer besides
    @blp.response(200, ThingSchema)       # serialized and documented by the same schema
    def get_thing(thing_id: uuid.UUID) -> Thing:
        return things.get_own(current_token().user_id, thing_id)   # a service: it decides

and register the module's `blp` in app/api/__init__.py. A service's ValidationError, NotFound …
become problem documents by themselves (app/api/problems.py).
"""

from __future__ import annotations

import functools
import http
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar

import marshmallow as ma
from flask import Flask, current_app, g, request
from flask_login import AnonymousUserMixin
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import Forbidden, Unauthorized
from werkzeug.routing import UUIDConverter
from werkzeug.wrappers import Response

from app.api.problems import MEDIA_TYPE, is_api_request
from app.auth import tokens
from app.extensions import csrf, limiter
from app.models.api_token import ApiToken

V = TypeVar("V", bound=Callable[..., Any])

# Every API answer counts towards this per-IP limit (and so carries X-RateLimit-* headers); sign-in
# routes add the same limits as their pages.
API_PER_IP = "300/minute"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True, metadata={"description": "A URN naming the kind of problem."})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True, metadata={"description": "What went wrong, for a person."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "For validation problems: each field in error and its message."},
    )


class ProblemApi(Api):
    """flask-smorest's Api, answering errors with problem documents (documented as such)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """None: app/error_pages.py answers every error, with a problem document under /api/."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error, as a problem document", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


DESCRIPTION = (
    "The MultiProduct JSON API. Errors are RFC 9457 problem documents (application/problem+json). "
    "Authenticate with `Authorization: Bearer <token>`: an access token from POST /auth/login, or a "
    "personal access token from the account page."
)


class ApiBlueprint(Blueprint):
    """A smorest Blueprint whose operations say how they authenticate and which errors they answer."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        csrf.exempt(self)  # bearer tokens, never cookies: nothing a browser sends on its own is accepted
        limiter.limit(API_PER_IP)(self)

    def errors(self, *statuses: int) -> Callable[[V], V]:
        """Document the problem documents an operation answers (besides 422 for its arguments, and default)."""

        def decorator(view: V) -> V:
            for status in statuses:
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view

        return decorator

    def auth(self, scope: str = "read") -> Callable[[V], V]:
        """Require a bearer token (access or personal) carrying `scope`; the view then has `current_token()`."""
        if scope not in tokens.SCOPES:
            raise ValueError(f"unknown scope {scope!r}")

        def decorator(view: V) -> V:
            @functools.wraps(view)
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                authenticate(scope)
                return view(*args, **kwargs)

            wrapped._apidoc = deepcopy(getattr(view, "_apidoc", {}))  # type: ignore[attr-defined]
            manual = wrapped._apidoc.setdefault("manual_doc", {})  # type: ignore[attr-defined]
            manual["security"] = [{"bearer": [scope]}]
            return self.errors(401, 403)(wrapped)  # type: ignore[return-value]

        return decorator


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    return value.strip() if kind.lower() == "bearer" and value.strip() else None


def authenticate(scope: str) -> ApiToken:
    raw = bearer()
    row = tokens.authenticate(raw) if raw else None
    if row is None:
        raise Unauthorized("Send a valid access token: Authorization: Bearer <token>.")
    if scope not in row.scope_set:
        raise Forbidden(f"This token lacks the “{scope}” scope.")
    g.api_token = row
    g._login_user = row.user  # Flask-Login's current_user, for code that asks who is acting
    return row


def current_token() -> ApiToken:
    row: ApiToken = g.api_token
    return row


def _no_cookie_sign_in() -> None:
    """Under /api/ nobody is signed in by the session cookie: Flask-Login sees an anonymous user
    until a bearer token says otherwise."""
    if is_api_request():
        g._login_user = AnonymousUserMixin()


def _cors(response: Response) -> Response:
    """CORS for the origins in API_CORS_ORIGINS only (none by default)."""
    if not is_api_request():
        return response
    origin = request.headers.get("Origin", "").rstrip("/")
    if origin and origin in current_app.config.get("API_CORS_ORIGINS", ()):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Expose-Headers"] = (
            "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
        )
        response.headers["Access-Control-Max-Age"] = "600"
        response.vary.add("Origin")
    response.cache_control.no_store = True
    return response


def _uuid_param(converter: UUIDConverter) -> dict[str, Any]:
    return {"type": "string", "format": "uuid", "maxLength": 36}


def guard_requests(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "MultiProduct API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    # First of all before_request hooks: before Flask-Login's session loader would read the cookie.
    app.before_request_funcs.setdefault(None, []).insert(0, _no_cookie_sign_in)
    app.after_request(_cors)


def make_api(app: Flask) -> ProblemApi:
    """The app's Api (one per app: it holds the app's spec), with the bearer scheme and uuid parameters."""
    api = ProblemApi(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "An access or personal access token."}
    )
    api.register_converter(UUIDConverter, _uuid_param)
    return api
