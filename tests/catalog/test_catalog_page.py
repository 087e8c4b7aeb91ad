import re

import pytest
import sqlalchemy as sa

from app.catalog import services
from app.extensions import db
from app.models import Plan, Product
from app.models.base import utcnow
from tests.factories import ProductFactory


@pytest.fixture
def catalog(app):
    with app.app_context():
        ProductFactory(
            slug="pipewise-crm",
            name="Pipewise CRM",
            category="CRM",
            tagline="The sales pipeline your team updates",
            description="Deals, forecasts and email sync.",
            plans__tiers=(("Starter", 2900), ("Growth", 7900)),
        )
        ProductFactory(
            slug="lumen-analytics",
            name="Lumen Analytics",
            category="Analytics",
            tagline="Product analytics in seconds",
            description="Funnels and retention. Exports your sales pipeline to the warehouse.",
            plans__tiers=(("Team", 4900),),
        )
        ProductFactory(
            slug="beacon-desk",
            name="Beacon Desk",
            category="Helpdesk",
            tagline="A calm shared inbox",
            description="Tickets and saved replies.",
            plans__tiers=(("Essentials", 1500),),
            plans__cycles=("monthly",),
        )
        ProductFactory(
            slug="old-thing", name="Old Thing", category="CRM", tagline="Retired", is_active=False, plans=True
        )


def names(html: str) -> list[str]:
    return re.findall(r'class="stretched" href="[^"]+">([^<]+)</a>', html)


def test_catalog_lists_active_products_as_cards_with_their_from_price(client, catalog):
    page = client.get("/products/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert names(html) == ["Beacon Desk", "Lumen Analytics", "Pipewise CRM"]
    card = html[html.index("Pipewise CRM") :].split("</article>")[0]
    assert "The sales pipeline your team updates" in card
    assert re.search(r"from</span>\s*<strong[^>]*>\$29\.00</strong>\s*<span[^>]*>/ month", card)
    assert "Save 17%" in card  # ten months' price for a year
    assert 'src="/static/img/products/' not in card and ">PC</span>" in html  # no icon shipped: initials
    assert "Old Thing" not in html
    # Category filter with counts of active products.
    assert re.search(r'value="CRM"[^>]*>\s*<span>CRM</span><span class="count"[^>]*>1</span>', html)


def test_search_ranks_a_name_match_above_a_description_match(client, catalog):
    html = client.get("/products/?q=pipeline").get_data(as_text=True)
    assert names(html) == ["Pipewise CRM", "Lumen Analytics"]
    assert "2 products for “<strong>pipeline</strong>”" in html


@pytest.mark.parametrize("q", ["analy", "Analytics", "product analy", "lumen"])
def test_search_matches_an_unfinished_word_while_typing(client, catalog, q):
    assert names(client.get("/products/", query_string={"q": q}).get_data(as_text=True)) == ["Lumen Analytics"]


@pytest.mark.postgres
def test_search_understands_web_search_syntax(client, catalog):
    assert names(client.get("/products/?q=pipeline -funnels").get_data(as_text=True)) == ["Pipewise CRM"]
    assert names(client.get('/products/?q="shared inbox"').get_data(as_text=True)) == ["Beacon Desk"]
    assert names(client.get("/products/?q=forecasting").get_data(as_text=True)) == ["Pipewise CRM"]  # stemmed


def test_category_and_cycle_filters_narrow_the_results(client, catalog):
    assert names(client.get("/products/?category=CRM").get_data(as_text=True)) == ["Pipewise CRM"]
    weekly = client.get("/products/?cycle=weekly").get_data(as_text=True)
    assert names(weekly) == ["Lumen Analytics", "Pipewise CRM"]  # Beacon Desk bills monthly only
    assert re.search(r"\$7\.25</strong>\s*<span[^>]*>/ week", weekly)
    assert "3 products" not in weekly and "2 products" in weekly and "billed weekly" in weekly


def test_sorting_by_price_name_and_newest(app, client, catalog):
    assert names(client.get("/products/?sort=price").get_data(as_text=True)) == [
        "Beacon Desk",
        "Pipewise CRM",
        "Lumen Analytics",
    ]
    assert names(client.get("/products/?sort=price&cycle=yearly").get_data(as_text=True)) == [
        "Pipewise CRM",
        "Lumen Analytics",
    ]
    with app.app_context():
        db.session.execute(
            sa.update(Product).where(Product.slug == "lumen-analytics").values(created_at=utcnow().replace(year=2030))
        )
        db.session.commit()
    assert names(client.get("/products/?sort=newest").get_data(as_text=True))[0] == "Lumen Analytics"
    assert names(client.get("/products/?sort=name").get_data(as_text=True))[0] == "Beacon Desk"


def test_pages_of_twelve_keep_the_filters_in_their_links(app, client):
    with app.app_context():
        for i in range(30):
            ProductFactory(
                slug=f"tool-{i:02d}",
                name=f"Tool {i:02d}",
                category="Ops",
                plans__tiers=(("Basic", 1000 + i),),
                plans__cycles=("monthly",),
            )
    first = client.get("/products/?category=Ops").get_data(as_text=True)
    assert names(first) == [f"Tool {i:02d}" for i in range(12)]
    assert 'href="/products/?category=Ops&amp;page=2"' in first
    third = client.get("/products/?category=Ops&page=3").get_data(as_text=True)
    assert names(third) == [f"Tool {i:02d}" for i in range(24, 30)]
    assert "showing 25–30" in third and 'rel="prev"' in third and 'rel="next"' not in third


def test_an_htmx_request_gets_only_the_results_fragment(client, catalog):
    fragment = client.get("/products/?category=CRM", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert names(html) == ["Pipewise CRM"]
    assert "<html" not in html and "<form" not in html and "site-header" not in html
    boosted = client.get("/products/?category=CRM", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)  # a boosted link swaps the whole page


def test_the_filter_form_updates_results_by_htmx_and_submits_by_get_without_javascript(client, catalog):
    html = client.get("/products/?q=crm&cycle=yearly").get_data(as_text=True)
    form = re.search(r"<form id=\"catalog-filters\"[^>]*>", html).group(0)
    for attribute in (
        'action="/products/"',
        'method="get"',
        'hx-get="/products/"',
        'hx-target="#results"',
        'hx-push-url="true"',
        "delay:350ms",
    ):
        assert attribute in form
    assert 'name="q" value="crm"' in html
    assert re.search(r'name="cycle" value="yearly" checked', html)
    assert re.search(r'<option value="" selected>Best match</option>', html)
    assert 'id="results"' in html and "Apply filters" in html


def test_empty_results_say_so_and_offer_to_clear_filters(client, catalog):
    html = client.get("/products/?q=spaceship&category=CRM").get_data(as_text=True)
    assert "No products match" in html and "Nothing fits “spaceship” in CRM" in html
    assert re.search(r'<a class="btn btn-primary" href="/products/"[^>]*>Clear filters</a>', html)


def test_an_empty_catalog_says_so_without_offering_to_clear_anything(client):
    html = client.get("/products/").get_data(as_text=True)
    assert "The catalog is empty for now" in html and "Clear filters" not in html


def test_a_product_whose_plans_are_all_retired_leaves_the_catalog(app, client, catalog):
    with app.app_context():
        product_id = db.session.scalar(sa.select(Product.id).where(Product.slug == "beacon-desk"))
        db.session.execute(sa.update(Plan).where(Plan.product_id == product_id).values(is_active=False))
        db.session.commit()
    assert "Beacon Desk" not in names(client.get("/products/").get_data(as_text=True))
    assert client.get("/products/beacon-desk").status_code == 404


def test_home_page_features_products_from_the_catalog(app, client, catalog):
    html = client.get("/").get_data(as_text=True)
    assert "Featured products" in html
    assert names(html) == ["Lumen Analytics", "Pipewise CRM", "Beacon Desk"]  # one per category, by category
    assert 'href="/products/"' in html


def test_home_page_has_no_featured_section_before_there_are_products(client):
    assert "Featured products" not in client.get("/").get_data(as_text=True)


def test_a_product_saved_through_the_service_is_findable_at_once(app, client):
    with app.app_context():
        product = services.save_product(
            slug="new-tool", name="Quasar Notes", category="Productivity", tagline="Notes that link themselves"
        )
        services.create_plan(product, name="Solo", billing_cycle="monthly", price=500)
    assert names(client.get("/products/?q=quasar").get_data(as_text=True)) == ["Quasar Notes"]


def test_a_filter_by_htmx_fills_the_live_region_that_announces_the_results_count(client, catalog):
    page = client.get("/products/").get_data(as_text=True)
    region = re.search(r'<p id="results-announcement"[^>]*>', page).group(0)
    assert 'aria-live="polite"' in region and 'role="status"' in region
    assert re.search(r'<section id="results"[^>]*>', page).group(0).count("aria-live") == 0  # not the whole grid
    fragment = client.get("/products/?category=CRM", headers={"HX-Request": "true"}).get_data(as_text=True)
    announced = re.search(r'<p id="results-announcement" hx-swap-oob="innerHTML">(.*?)</p>', fragment, re.S).group(1)
    assert " ".join(announced.split()) == "1 product in CRM"
    nothing = client.get("/products/?q=zzzzzz", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<p id="results-announcement" hx-swap-oob="innerHTML">No products match</p>' in nothing
