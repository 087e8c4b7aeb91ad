"""The JSON API v1 (/api/v1/): a second adapter over the same services the pages call.

Built on flask-smorest (marshmallow schemas validate requests, serialize responses and
generate the OpenAPI 3.1 document at /api/v1/openapi.json). Each resource is a module with an
`ApiBlueprint` (app/api/kit.py); `init_app` registers them. Errors are problem documents
(app/api/problems.py); auth is by bearer token only (app/api/kit.py `auth`), never the session
cookie, so the API is exempt from CSRF.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.api import auth_routes, docs, me, notifications, products
    from app.api.kit import guard_requests, make_api

    guard_requests(app)
    api = make_api(app)
    for module in (auth_routes, me, products, notifications):
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.bp)
