"""The category list counts what picking a category would show:
the search and the cycle apply, the category does not."""

import re

import pytest

from app.catalog.queries import CategoryCount
from tests.factories import ProductFactory
from tests.support.db import empty_tables, reset_schema

HX = {"HX-Request": "true"}


def _fill(app) -> None:
    with app.app_context():
        ProductFactory(
            slug="pipewise-crm",
            name="Pipewise CRM",
            category="CRM",
            tagline="The sales pipeline your team updates",
            plans__cycles=("monthly", "yearly"),
        )
        ProductFactory(
            slug="contact-book",
            name="Contact Book",
            category="CRM",
            tagline="Every address in one place",
            plans__cycles=("monthly",),
        )
        ProductFactory(
            slug="lumen-analytics",
            name="Lumen Analytics",
            category="Analytics",
            tagline="Product analytics",
            description="Exports your sales pipeline to the warehouse.",
            plans=True,
        )
        ProductFactory(
            slug="beacon-desk",
            name="Beacon Desk",
            category="Helpdesk",
            tagline="A calm shared inbox",
            plans__cycles=("monthly",),
        )


@pytest.fixture(params=["suite database", "sqlite"])
def shop(request, app, make_app, tmp_path):
    """The catalog on the suite's database (Postgres: full-text search) and on SQLite (the embedded default)."""
    target = app
    if request.param == "sqlite":
        target = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'catalog.db'}")
        reset_schema(target)
        empty_tables(target)
    _fill(target)
    return target


def counts(html: str) -> dict[str, int]:
    """{category: count} as the filter list shows it ("" for All categories)."""
    found = {}
    for name in ("", "CRM", "Analytics", "Helpdesk"):
        dom_id = CategoryCount(name, 0).dom_id if name else "category-count-all"
        match = re.search(rf'<span class="count" id="{dom_id}"[^>]*>(\d+)</span>', html)
        if match:
            found[name] = int(match.group(1))
    return found


def test_without_a_search_every_category_counts_its_products(shop):
    html = shop.test_client().get("/products/").text
    assert counts(html) == {"": 4, "CRM": 2, "Analytics": 1, "Helpdesk": 1}


def test_the_counts_follow_the_search_term_and_a_category_without_matches_shows_zero(shop):
    html = shop.test_client().get("/products/?q=pipeline").text
    assert counts(html) == {"": 2, "CRM": 1, "Analytics": 1, "Helpdesk": 0}


def test_the_chosen_category_does_not_narrow_the_counts_but_the_cycle_does(shop):
    client = shop.test_client()
    assert counts(client.get("/products/?q=pipeline&category=CRM").text) == {
        "": 2,
        "CRM": 1,
        "Analytics": 1,
        "Helpdesk": 0,
    }
    assert counts(client.get("/products/?cycle=yearly").text) == {"": 2, "CRM": 1, "Analytics": 1, "Helpdesk": 0}


def test_an_htmx_search_sends_the_new_counts_out_of_band(shop):
    response = shop.test_client().get("/products/?q=inbox", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert counts(response.text) == {"": 1, "CRM": 0, "Analytics": 0, "Helpdesk": 1}
    assert response.text.count('hx-swap-oob="true"') == 4
