"""GET never writes: every page a signed-in customer can reach is served without an INSERT, UPDATE or DELETE.

The customer has a subscription, invoices, notifications, a placed order and a cart. Every GET
rule outside /admin and /dev is requested with ids of the customer's own rows, and so is every
same-site link found on those pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.catalog import Plan
from app.models.checkout import CheckoutAttempt
from tests.factories import PlanFactory, ProductFactory
from tests.support import routes
from tests.support.checkout import card
from tests.support.routes import Visitor, fill, rules

WRITE = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE | re.DOTALL)
HREF = re.compile(r'href="(/[^"#]*)"')
# Not pages: the identity provider's redirect carries a one-time code and signs in (a write by design).
NOT_PAGES = {"oauth.callback"}
SKIP_PREFIXES = ("/admin", "/dev", "/static", "/auth/logout")

csrf_app, world = routes.csrf_app, routes.world  # the fixtures: a CSRF-checking app, one row of everything


@contextmanager
def writes_recorded(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 (the event's signature)
        if WRITE.match(statement):
            statements.append(statement.split("\n", 1)[0][:200])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def customer(csrf_app, world) -> Visitor:
    """The world's customer, signed in, with a placed order and a cart holding another product."""
    with csrf_app.app_context():
        bought = PlanFactory(product=ProductFactory(name="Analytics Suite"))
        waiting = PlanFactory(product=ProductFactory(name="Helpdesk"))
        bought_id, waiting_id = bought.id, waiting.id
        db.session.remove()
    visitor = Visitor(csrf_app, world.customer_id)
    assert visitor.send("POST", "/cart/add", data={"plan_id": str(bought_id)}).status_code == 303
    review = visitor.send("GET", "/checkout").get_data(as_text=True)
    fields = {
        name: re.search(rf'name="{name}" value="([^"]+)"', review).group(1)
        for name in ("idempotency_key", "review_fingerprint")
    }
    assert visitor.send("POST", "/checkout", data={**fields, **card()}).status_code == 303
    assert visitor.send("POST", "/cart/add", data={"plan_id": str(waiting_id)}).status_code == 303
    with csrf_app.app_context():
        world.args["attempt_id"] = str(db.session.scalar(sa.select(CheckoutAttempt.id)))
        # A price change since the cart was filled: the cart points it out (and must not write to do so).
        db.session.execute(sa.update(Plan).where(Plan.id == waiting_id).values(price=Plan.price + 100))
        db.session.commit()
        db.session.remove()
    return visitor


def _pages(app, args: dict[str, str]) -> list[str]:
    return [
        fill(rule.rule, args)
        for rule in rules(app, "GET")
        if rule.endpoint not in NOT_PAGES and not rule.rule.startswith(SKIP_PREFIXES)
    ]


def _links(html: str) -> set[str]:
    found = set()
    for href in HREF.findall(html):
        path = urlsplit(href.replace("&amp;", "&"))
        if not href.startswith("//") and not path.path.startswith(SKIP_PREFIXES):
            found.add(href.replace("&amp;", "&"))
    return found


def test_no_get_route_a_customer_can_reach_writes_to_the_database(csrf_app, world, customer):
    with csrf_app.app_context():
        engine = db.engine
    oauth_callbacks = {fill(rule.rule, world.args) for rule in rules(csrf_app, "GET") if rule.endpoint in NOT_PAGES}
    queue, seen, writes = _pages(csrf_app, world.args), set(), {}
    while queue:
        url = queue.pop(0)
        if url in seen or urlsplit(url).path in oauth_callbacks:
            continue
        seen.add(url)
        for headers in ({}, {"HX-Request": "true"}):
            with writes_recorded(engine) as statements:
                response = customer.send("GET", url, headers=headers)
            # /readyz answers 503 while no worker runs (as in tests); every other page renders
            assert response.status_code < 500 or url == "/readyz", (url, response.status_code)
            if statements:
                writes[url + (" (HTMX)" if headers else "")] = statements
        if response.mimetype == "text/html":
            queue.extend(sorted(_links(response.get_data(as_text=True)) - seen))
    assert len(seen) > 25, sorted(seen)  # the crawl reached the customer's pages, not only the rules
    assert writes == {}
