"""The shape issue 12 settled, kept by reading the code: views adapt, services decide.

- No view module (a blueprint's routes, an admin page) commits, rolls back, executes or queries:
  reads go through query functions, writes through one service call.
- No service reads the request, builds a URL or returns a response: services know no HTTP.
- Templates link to endpoints that exist, unguarded (no `in url_endpoints`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

SESSION_CALLS = {"commit", "rollback", "execute", "query", "scalar", "scalars", "add", "delete", "flush"}
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}


def is_view_module(path: Path) -> bool:
    """A module that declares routes (`@bp.get(…)`, `@admin.route(…)` …)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if (
                    isinstance(call, ast.Attribute)
                    and call.attr in ROUTE_DECORATORS
                    and isinstance(call.value, ast.Name)
                ):
                    return True
    return False


VIEW_MODULES = sorted(p for p in APP.rglob("*.py") if is_view_module(p))
SERVICE_MODULES = sorted(list(APP.rglob("services.py")) + list(APP.rglob("services/*.py")))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def session_uses(tree: ast.AST) -> list[str]:
    """`db.session.<call>(…)` and `<Model>.query` in a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            value = node.value
            if (
                isinstance(value, ast.Attribute)
                and value.attr == "session"
                and isinstance(value.value, ast.Name)
                and value.value.id == "db"
                and node.attr in SESSION_CALLS
            ):
                found.append(f"line {node.lineno}: db.session.{node.attr}")
            if node.attr == "query" and isinstance(value, ast.Name) and value.id[:1].isupper():
                found.append(f"line {node.lineno}: {value.id}.query")
    return found


@pytest.mark.parametrize("path", VIEW_MODULES, ids=rel)
def test_views_never_touch_the_session(path):
    assert VIEW_MODULES, "no view modules found"
    assert session_uses(ast.parse(path.read_text())) == []


HTTP_NAMES = {"request", "redirect", "url_for", "make_response", "abort", "render_template", "Response", "jsonify"}


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=rel)
def test_services_know_no_http(path):
    tree = ast.parse(path.read_text())
    imported = [
        f"line {node.lineno}: from {node.module} import {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in {"flask", "werkzeug.wrappers", "werkzeug"}
        for alias in node.names
        if alias.name in HTTP_NAMES
    ]
    assert imported == []


def test_templates_link_to_endpoints_without_guards():
    guarded = [
        f"{rel(p)}:{n}"
        for p in (ROOT / "templates").rglob("*.html")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\bin url_endpoints\b", line)
    ]
    assert guarded == []
