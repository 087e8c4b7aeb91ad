"""Any body on any route, any query on any page: a 4xx or a normal answer, never a 5xx.

Swept over app.url_map, so a route is swept the day it is added: as a visitor, a customer and an
admin, with CSRF on as in production (the token rides in X-CSRFToken, as HTMX sends it).
The per-field sweeps (tests/auth, tests/billing) check the messages; this one checks every door.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wtforms.fields.core import UnboundField

from tests.support import hostile
from tests.support.routes import arguments, fill, rules

ROOT = Path(__file__).resolve().parent.parent
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Each value goes into every field at once; one request per value keeps the sweep to minutes.
FORM_VALUES = [
    "2147483648",
    "99999999999999999999",
    "9" * 5000,
    "-1",
    "",
    "\x00",
    "x" * 1000,
    "null",
    "1e309",
    "<script>alert(1)</script>",
]
QUERY_VALUES = ["2147483648", "99999999999999999999", "-1", "\x00", "x" * 3000, "' OR 1=1 --"]


def _field_names() -> list[str]:
    """Every input name a page or a view knows: from the templates, the WTForms classes and request.* reads."""
    names = set()
    for template in (ROOT / "templates").rglob("*.html"):
        names |= set(re.findall(r'\bname="([A-Za-z_]\w*)"', template.read_text()))
    for module in (ROOT / "app").rglob("*.py"):
        source = module.read_text()
        names |= set(re.findall(r'(?:args|form|values)\.get(?:list)?\(\s*"(\w+)"', source))
        names |= set(re.findall(r'\b(?:arg_\w+|_date_arg)\(\s*"(\w+)"', source))
    from flask_wtf import FlaskForm

    import app.account.forms  # noqa: F401  (every form class defined)
    import app.auth.forms  # noqa: F401

    pending = list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending += form.__subclasses__()
        names |= {name for name in dir(form) if isinstance(getattr(form, name, None), UnboundField)}
    return sorted(names - {"csrf_token"})


FIELD_NAMES = _field_names()


ROLES = ["visitor", "customer", "admin"]


def _body_routes(app, world):
    """(method, url) of every route that takes a body, naming the world's rows."""
    return [(method, fill(rule.rule, world.args)) for method in BODY_METHODS for rule in rules(app, method)]


def _refused(visitor, requests, acceptable) -> list[str]:
    """Send each (method, url, request options, label); describe those answered with a status not `acceptable`."""
    failed = []
    for method, url, options, label in requests:
        status = visitor.send(method, url, **options).status_code
        if not acceptable(status):
            failed.append(f"{method} {url[:120]} {label}: {status}")
    return failed


# /readyz answers 503 by design while no worker or scheduler heartbeats (none run in this test).
NOT_SWEPT = frozenset({"static", "main.readyz"})


def _no_server_error(status: int) -> bool:
    return status < 500


@pytest.mark.parametrize("role", ROLES)
def test_json_and_odd_bodies_on_every_route_are_refused_with_a_4xx(csrf_app, world, visitor_as, role):
    bodies = [("application/json", body) for body in hostile.JSON_BODIES] + hostile.NOT_FORMS
    requests = [
        (method, url, {"data": body, "content_type": content_type}, f"{content_type} {str(body)[:40]!r}")
        for method, url in _body_routes(csrf_app, world)
        for content_type, body in bodies
    ]
    failures = _refused(visitor_as(role), requests, lambda status: 400 <= status < 500)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_hostile_values_and_broken_forms_on_every_route_are_no_server_error(csrf_app, world, visitor_as, role):
    visitor = visitor_as(role)
    requests = []
    for method, url in _body_routes(csrf_app, world):
        requests += [
            (
                method,
                url,
                {"data": {name: value for name in FIELD_NAMES} | {"csrf_token": visitor.token}},
                f"every field={value[:20]!r}",
            )
            for value in FORM_VALUES
        ]
        requests += [
            (method, url, {"data": body, "content_type": content_type}, f"{content_type} {body[:30]!r}")
            for content_type, body in hostile.BROKEN_FORMS
        ]
    failures = _refused(visitor, requests, _no_server_error)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_odd_query_strings_on_every_page_are_no_server_error(csrf_app, world, visitor_as, role):
    requests = [
        (
            "GET",
            fill(rule.rule, world.args),
            {"query_string": {name: value for name in FIELD_NAMES}, "headers": headers},
            f"every arg={value[:20]!r} {headers}",
        )
        for rule in rules(csrf_app, "GET", skip_endpoints=NOT_SWEPT)
        for value in QUERY_VALUES
        for headers in ({}, {"HX-Request": "true"})
    ]
    failures = _refused(visitor_as(role), requests, _no_server_error)
    assert not failures, "\n".join(failures)


def test_ids_no_column_can_hold_are_404_on_every_route(csrf_app, world, visitor_as):
    requests = [
        (method, fill(rule.rule, {**world.args, name: value}), {}, "")
        for method in ("GET", *BODY_METHODS)
        for rule in rules(csrf_app, method)
        for converter, name in arguments(rule)
        if converter in ("int", "uuid")
        for value in hostile.HUGE_INTS + ["-1", "1.5", "1e3"]
    ]
    failures = _refused(visitor_as("admin"), requests, lambda status: status == 404)
    assert not failures, "\n".join(failures)
