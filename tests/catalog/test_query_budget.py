"""Speed does not depend on catalog size: each page costs the same few SQL statements at 10 and at 1,000 products."""

import sqlalchemy as sa

from app.catalog.demo import bulk_load_catalog
from app.extensions import db
from app.models import Plan, Product
from tests.support.users import make_user, sign_in

PAGES = [
    ("/products/", {}),
    ("/products/?q=invoice&sort=price", {}),
    ("/products/?page=999999", {}),  # past the end: counted, then the last page
    ("/products/?category=Finance&cycle=yearly&sort=newest", {"HX-Request": "true"}),
    ("/products/load-00007", {}),
    ("/products/load-00007?cycle=yearly", {"HX-Request": "true"}),
    ("/", {}),
]
BUDGET = 5


def _load(app, count: int, prefix: str = "load") -> None:
    with app.app_context():
        bulk_load_catalog(count, prefix=prefix)
        db.session.commit()


def _measure(app, client, count_queries, pages=PAGES) -> dict[str, int]:
    counts = {}
    for path, headers in pages:
        app.extensions["redis"].delete("platform_fee:percent")  # a cold cache costs its query too
        with count_queries() as q:
            page = client.get(path, headers=headers)
        assert page.status_code == 200, path
        counts[path] = q.count
    return counts


def test_catalog_and_product_pages_issue_the_same_few_queries_at_10_and_1000_products(app, client, count_queries):
    _load(app, 10)
    small = _measure(app, client, count_queries)
    _load(app, 990, prefix="more")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 1000
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 5000
    large = _measure(app, client, count_queries)
    assert all(n <= BUDGET for n in large.values()), large
    assert large == small


def test_a_signed_in_visitor_stays_within_the_budget(app, client, count_queries):
    _load(app, 1000)
    with app.app_context():
        sign_in(client, make_user(username="grace"))
    client.get("/")  # role permissions are then cached in Redis (5 min), as on any live site
    # Signed in costs two statements (session, unread count); the rare past-the-end page is left out.
    counts = _measure(app, client, count_queries, [p for p in PAGES if "999999" not in p[0]])
    assert all(n <= BUDGET for n in counts.values()), counts


def test_filtering_by_htmx_costs_what_the_page_costs_counts_included(app, client, count_queries):
    _load(app, 50)
    with count_queries() as full:
        client.get("/products/?q=invoice&cycle=yearly")
    with count_queries() as fragment:
        client.get("/products/?q=invoice&cycle=yearly", headers={"HX-Request": "true"})
    # The page (with its total), the prices and the category counts, which follow the search.
    assert fragment.count == full.count == 3


def test_the_price_aggregate_runs_once_for_the_whole_page(app, client, count_queries):
    _load(app, 100)
    with count_queries() as q:
        client.get("/products/")
    aggregates = [s for s in q.statements if "min(" in s.lower() and "group by" in s.lower()]
    assert len(aggregates) == 1
