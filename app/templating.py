"""Template helpers: HTMX-aware rendering; the money (app.money) and date (app.dates) filters registered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, render_template, request, url_for
from flask_login import current_user
from jinja2 import nodes
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.dates import format_date, format_datetime, format_timeago, iso_instant
from app.money import format_money
from app.web import is_htmx

# Main navigation: (label, endpoint, shown only when signed in).
NAV = [
    ("Products", "catalog.index", False),
    ("Subscriptions", "billing.subscriptions", True),
    ("Invoices", "billing.invoices", True),
]


def render_page(template: str, block: str | None = None, **context: Any) -> str:
    """The full page, or just `block` of it for an HTMX request (not boosted). The template sees which as
    `fragment`: out-of-band swaps belong in a fragment only, since a boosted full page swaps into another
    page, where their targets don't exist (htmx:oobErrorNoTarget)."""
    if block and is_htmx() and not request.headers.get("HX-Boosted"):
        return render_block(template, block, **{**page_imports(template), **context, "fragment": True})
    return render_template(template, **{**context, "fragment": False})


def page_imports(template: str) -> dict[str, Any]:
    """The macros `template` imports at its top, outside any block.

    A block rendered alone skips the page's top-level code, so without these a fragment
    calling `csrf()` fails with "'csrf' is undefined" — only on the HTMX path.
    """
    env = current_app.jinja_env
    # template → [(imported template's name, the import)]
    cache: dict[str, list[tuple[str, nodes.FromImport | nodes.Import]]] = current_app.extensions.setdefault(
        "page_imports", {}
    )
    if template not in cache or env.auto_reload:
        if env.loader is None:
            raise RuntimeError("the app's Jinja environment has no template loader")
        source = env.loader.get_source(env, template)[0]
        cache[template] = [
            (node.template.value, node)
            for node in env.parse(source).body
            if isinstance(node, (nodes.FromImport, nodes.Import)) and isinstance(node.template, nodes.Const)
        ]
    names: dict[str, Any] = {}
    for imported, node in cache[template]:
        module = env.get_template(imported).module
        if isinstance(node, nodes.Import):
            names[node.target] = module
            continue
        for name in node.names:
            name, alias = name if isinstance(name, tuple) else (name, name)
            names[alias] = getattr(module, name)
    return names


def time_tag(value: datetime | None, shown: str = "datetime") -> Markup:
    """`<time datetime="2026-12-07T13:05:00Z">07 Dec 2026, 14:05 CET</time>`: the UTC instant for machines,
    the viewer's clock for people. `shown`: "datetime", "date", or "ago" (relative, the full time as its title)."""
    if not value:
        return Markup("")
    if shown == "ago":
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            iso_instant(value), format_datetime(value), format_timeago(value)
        )
    text = format_date(value) if shown == "date" else format_datetime(value)
    return Markup('<time datetime="{}">{}</time>').format(iso_instant(value), text)


def render_without_database(template: str, **context: Any) -> str:
    """A page that must render while the database is down. The context processors are skipped (they read
    the signed-in user, which a failed transaction has expired) and the navbar leaves out the account menu."""
    base = {
        "site_name": current_app.config["SITE_NAME"],
        "database_down": True,
    }
    return current_app.jinja_env.get_template(template).render(**base, **context)


# The request headers `render_page` (and any `is_htmx()` branch) renders differently for.
HTMX_HEADERS = ("HX-Request", "HX-Boosted")


def vary_on_htmx(response: Response) -> Response:
    """One URL, several renderings (full page, boosted page, fragment): caches must key on the HTMX headers."""
    if request.headers.get("HX-Request") or response.mimetype == "text/html":
        for header in HTMX_HEADERS:
            response.vary.add(header)
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["timeago"] = format_timeago
    app.jinja_env.filters["iso"] = iso_instant
    app.jinja_env.filters["time_tag"] = time_tag
    app.jinja_env.globals["is_htmx"] = is_htmx
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.after_request(vary_on_htmx)

    @app.context_processor
    def _site() -> dict[str, Any]:
        return {
            "site_name": app.config["SITE_NAME"],
            "app_env": app.config["APP_ENV"],
            "nav_items": [
                {"label": label, "url": url_for(endpoint)}
                for label, endpoint, private in NAV
                if not private or current_user.is_authenticated
            ],
            "now_year": datetime.now(UTC).year,
            # With Stripe, every page loads Stripe.js (a boosted link swaps only the <body>; Stripe asks for it
            # on every page for its fraud signals); the CSP allows its origins (app/security.py).
            "stripe_js_url": app.config.get("STRIPE_JS_URL") if app.config.get("PAYMENT_GATEWAY") == "stripe" else None,
        }
